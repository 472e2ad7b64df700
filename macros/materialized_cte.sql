{#- `name as {{ materialized_cte() }} (...)`: a CTE that must be computed once. PostgreSQL inlines a CTE used once
    and copies its expressions into every place that uses them: the landing's typed columns and row_defect
    reached the timestamp parser 44 times a row (217k signups: 90 s, 6 s materialized). Nothing on the other
    engines, which compute such expressions once. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
    {{ return('') }}
{%- endmacro %}

{% macro postgres__materialized_cte() -%}
    {{ return('materialized') }}
{%- endmacro %}
