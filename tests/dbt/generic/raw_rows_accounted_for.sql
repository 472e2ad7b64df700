{#- Nothing is silently dropped: rows in the raw relation = rows in the staged model + rows in quarantine.
    Fails with one row showing the three counts when they disagree. -#}
{% test raw_rows_accounted_for(model, raw_relation, quarantine_relation) %}

with

counts as (

    select
        (select count(*) from {{ raw_relation }}) as raw_rows,
        (select count(*) from {{ model }}) as staged_rows,
        (select count(*) from {{ quarantine_relation }}) as quarantined_rows

)

select *
from counts
where raw_rows <> staged_rows + quarantined_rows

{% endtest %}
