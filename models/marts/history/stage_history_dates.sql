{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
    )
}}
-- The as-of dates the stage history was recorded for, one row each: a run appends its as-of date when it is
-- later than every recorded one (an earlier or the same date appends nothing). customer_stage_history only
-- changes on the latest recorded date, and stage_transitions pairs consecutive recorded dates — including
-- nights in which nobody changed, which leave no row in the history itself. Append-only, kept by --full-refresh.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

final as (

    select as_of.as_of_date
    from as_of
    {%- if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as recorded
            where recorded.as_of_date >= as_of.as_of_date
        )
    {%- endif %}

)

select * from final
