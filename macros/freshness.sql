{#- Newest usable timestamp of a raw dataset, for `dbt source freshness` (loaded_at_query in
    _shop__sources.yml). The raw views are text: unparseable values are ignored, and so are timestamps beyond
    the quarantine's future cutoff, so one bad row can neither fail the check nor make a stale export look
    fresh. -#}
{% macro raw_freshness_query(table_name, timestamp_column) -%}
    select max(loaded_at) from (
        select {{ to_utc_timestamp(timestamp_column) }} as loaded_at
        from {{ source('shop', table_name) }}
    ) as parsed
    where loaded_at <= {{ future_cutoff() }}
{%- endmacro %}
