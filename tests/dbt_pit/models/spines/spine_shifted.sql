-- The same spine with its time column renamed, for spine_timestamp=.
select case_id, k1, k2, event_timestamp as prediction_ts, label, row_tag
from {{ source('pit_raw', 'raw_spine') }}
