-- Per person known on the as-of date: their current stage, when they entered it (stage_changed_on) and the
-- stage before it (previous_stage; NULL when newly known), read from customer_stage_history up to that date.
{{ config(materialized='view') }}

with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

history as (

    select history.*
    from {{ ref('customer_stage_history') }} as history
    cross join as_of
    where history.valid_from <= as_of.as_of_date

),

-- History rows also record changes of the overlays: a stage starts where it differs from the row before.
with_previous as (

    select
        customer_key,
        valid_from,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_key order by valid_from asc nulls last) as previous_stage,
        row_number() over (partition by customer_key order by valid_from desc nulls last) as recency
    from history

),

stage_starts as (

    select
        customer_key,
        valid_from,
        previous_stage,
        row_number() over (partition by customer_key order by valid_from desc nulls last) as start_recency
    from with_previous
    where lifecycle_stage is distinct from previous_stage

),

final as (

    select
        -- ids
        with_previous.customer_key,

        -- stage change
        with_previous.lifecycle_stage,
        stage_starts.previous_stage,
        stage_starts.valid_from as stage_changed_on

    from with_previous
    inner join stage_starts
        on with_previous.customer_key = stage_starts.customer_key and stage_starts.start_recency = 1
    where with_previous.recency = 1 and with_previous.lifecycle_stage is not null

)

select * from final
