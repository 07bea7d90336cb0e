{#- Rows of the newest snapshot in a relation of whole-table snapshots: each ingest
    lands the complete table, so the newest `snapshot_at` is the current state. -#}
{% macro latest_snapshot(relation) -%}
    select * from {{ relation }}
    where snapshot_at = (select max(snapshot_at) from {{ relation }})
{%- endmacro %}
