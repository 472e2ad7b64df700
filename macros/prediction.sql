{#- True where the prediction models run: they are dbt Python models written against DuckDB's Python API, so
    on DuckDB unless var prediction_enabled is false. dbt_project.yml enables the models/*/prediction folders
    with the same test (macros are not available there); keep the two in step. Where it is false,
    customer_lifecycle and campaign_audiences carry the prediction columns as NULL. -#}
{% macro predictions_available() -%}
    {{ return(target.type == 'duckdb' and (var('prediction_enabled', true) | string | lower == 'true')) }}
{%- endmacro %}

{#- sum() of a double column as an exact decimal sum (12 decimals), cast back to double: the same result in
    whatever order the engine adds the rows up (a parallel double sum can differ in its last bits between
    runs). -#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 12))) as {{ type_double() }})
{%- endmacro %}
