-- A spine without k2, for the missing-entity expected failure.
select case_id, k1, event_timestamp from {{ source('pit_raw', 'raw_spine') }}
