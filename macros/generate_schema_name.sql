{#- Land models in the schema named in config (staging, intermediate, marts, quarantine) instead of dbt's
    default `<target schema>_<custom schema>`, so BI users find `marts.customer_lifecycle`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
