-- Clean feature-view data: every fsdbt test on it passes.
{{ validation_rows() }}
