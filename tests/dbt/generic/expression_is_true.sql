{#- Every row (optionally: every row matching `where`) satisfies a boolean SQL expression. -#}
{% test expression_is_true(model, expression, row_filter=none) %}

select *
from {{ model }}
where not ({{ expression }})
{%- if row_filter %}
    and ({{ row_filter }})
{%- endif %}

{% endtest %}
