"""``fsdbt sync``: the latest row per entity, from the warehouse to the online store."""
