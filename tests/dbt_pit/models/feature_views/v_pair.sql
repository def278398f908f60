select * from {{ source('pit_raw', 'raw_v_pair') }}
