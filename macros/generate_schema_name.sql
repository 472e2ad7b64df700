{#- Land models in the schema named in config (staging, intermediate, marts, quarantine) instead of dbt's
    default `<target schema>_<custom schema>`, so BI users find `marts.customer_lifecycle`. Var `schema_suffix`
    (default empty) is appended: the driver builds on PostgreSQL into `marts__next` etc. and then swaps the
    schemas in one transaction (lifecycle_pipeline/postgres.py). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}{{ var('schema_suffix', '') | string | trim }}
    {%- endif -%}
{%- endmacro %}
