{#- Put after `name as` in a CTE that several later CTEs filter differently: the engine inlines it into each of
    them instead of storing all its rows first. DuckDB materialises a CTE read more than once; for a wide scan
    of every session that means writing tens of millions of rows to memory before the filters apply.
    PostgreSQL (12+) knows the same keyword; engines without it inline anyway (default: nothing). -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}{%- endmacro %}

{% macro duckdb__inline_cte() -%}not materialized{%- endmacro %}

{% macro postgres__inline_cte() -%}not materialized{%- endmacro %}
