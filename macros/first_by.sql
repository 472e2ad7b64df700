{#- The first row of each group: a select of `relation` (a CTE or table) returning, for every value of
    `group_by` (a column), the columns `order_by` of the row that sorts first by them, compared in that order
    (the last one breaks the remaining ties). The `order_by` columns must not be NULL. Equal rows are equal in
    every column returned, so the result is the same on every engine whatever the tie. -#}
{% macro first_by(relation, group_by, order_by) -%}
    {{ return(adapter.dispatch('first_by', 'customer_lifecycle')(relation, group_by, order_by)) }}
{%- endmacro %}

{#- Portable: number the rows of each group (a sort of every row; fine on engines without a better way). -#}
{% macro default__first_by(relation, group_by, order_by) -%}
    select
        {{ group_by }},
        {{ order_by | join(', ') }}
    from (
        select
            {{ group_by }},
            {{ order_by | join(', ') }},
            row_number() over (partition by {{ group_by }} order by {{ order_by | join(', ') }}) as first_by_rank
        from {{ relation }}
    ) as ranked
    where first_by_rank = 1
{%- endmacro %}

{#- DuckDB: one hash aggregate, min() over a struct of the columns — structs compare field by field, in order. -#}
{% macro duckdb__first_by(relation, group_by, order_by) -%}
    select
        {{ group_by }},
        {%- for column in order_by %}
        firsts.first_row.{{ column }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {{ group_by }},
            min(struct_pack({% for column in order_by %}{{ column }} := {{ column }}{{ ', ' if not loop.last }}{% endfor %})) as first_row
        from {{ relation }}
        group by {{ group_by }}
    ) as firsts
{%- endmacro %}
