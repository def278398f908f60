select * from {{ source('pit_raw', 'raw_spine') }}
