{#- Nothing is silently dropped: records in the raw input = rows in the staged model + rows in quarantine. The
    records are counted apart from the raw view (macro raw_record_count: on DuckDB, CSV records by a lenient
    second pass of the reader), so a record the strict reader set aside and the landing lost would show.
    Fails with one row showing the three counts when they disagree. -#}
{% test raw_rows_accounted_for(model, raw_relation, quarantine_relation) %}

with

counts as (

    select
        ({{ raw_record_count(raw_relation) }}) as raw_records,
        (select count(*) from {{ model }}) as staged_rows,
        (select count(*) from {{ quarantine_relation }}) as quarantined_rows

)

select *
from counts
where raw_records <> staged_rows + quarantined_rows

{% endtest %}
