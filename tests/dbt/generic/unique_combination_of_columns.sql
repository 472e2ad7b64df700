{#- No two rows share the same values in all of `combination` (a compound key). -#}
{% test unique_combination_of_columns(model, combination) %}

select
    {{ combination | join(', ') }},
    count(*) as duplicate_rows
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1

{% endtest %}
