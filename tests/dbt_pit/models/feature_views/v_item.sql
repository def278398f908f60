{{ config(meta={'fsdbt': {'entities': ['case_id', 'k2'], 'timestamp': 'ts', 'created_timestamp': 'loaded_at'}}) }}
select * from {{ source('pit_raw', 'raw_v_item') }}
