{#- Models incremental by affected keys (README "Incremental refresh and history", int_customers__identity):
    on an incremental run a model re-derives only the keys listed in a CTE, from all of their rows. -#}

{#- Filter for a model's source rows: those whose `column` is in `affected_cte` (its column `affected_column`,
    by default the same name) on an incremental run; every row on a full build. -#}
{% macro only_affected(column, affected_cte, affected_column=none) -%}
    {%- if is_incremental() -%}
        {{ column }} in (select {{ affected_cte }}.{{ affected_column or column }} from {{ affected_cte }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
