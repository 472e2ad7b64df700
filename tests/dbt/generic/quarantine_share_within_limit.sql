{#- At most `max_share` of a source's rows are quarantined (var max_quarantine_share, default 0.05): a larger
    share means a broken export, not a few bad rows, and the run must not publish. The share is quarantined ÷
    (staged + quarantined), which raw_rows_accounted_for proves equal to the raw rows, so the raw files are not
    read again. Fails with one row showing the counts, the share and the limit. -#}
{% test quarantine_share_within_limit(model, quarantine_relation, max_share=none) %}

{%- set limit = var('max_quarantine_share') if max_share is none else max_share %}

with

counts as (

    select
        (select count(*) from {{ model }}) as staged_rows,
        (select count(*) from {{ quarantine_relation }}) as quarantined_rows

),

shares as (

    select
        staged_rows,
        quarantined_rows,
        staged_rows + quarantined_rows as raw_rows,
        case
            when staged_rows + quarantined_rows = 0 then 0.0
            else cast(quarantined_rows as {{ dbt.type_float() }}) / (staged_rows + quarantined_rows)
        end as quarantine_share,
        cast({{ limit }} as {{ dbt.type_float() }}) as max_share
    from counts

)

select *
from shares
where quarantine_share > max_share

{% endtest %}
