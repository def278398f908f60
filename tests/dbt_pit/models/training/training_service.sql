-- A feature service names its views only in the exposure, so declare them for dbt's lineage:
-- depends_on: {{ ref('v_pair') }}
-- depends_on: {{ ref('v_item') }}
select * from {{ fsdbt.point_in_time_join(ref('spine'), 'svc_pair') }}
