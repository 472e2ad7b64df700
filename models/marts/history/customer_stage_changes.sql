-- Per person known on the as-of date: their stage, when they entered it (stage_changed_on) and the stage
-- before it (previous_stage; NULL when newly known) — their latest stage start up to that date.
{{ config(materialized='view') }}

with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

stage_starts as (

    select * from {{ ref('customer_stage_starts') }}

),

ranked as (

    select
        stage_starts.*,
        row_number() over (
            partition by stage_starts.customer_key order by stage_starts.valid_from desc nulls last
        ) as recency
    from stage_starts
    cross join as_of
    where stage_starts.valid_from <= as_of.as_of_date

),

final as (

    select
        -- ids
        customer_key,

        -- stage change
        lifecycle_stage,
        previous_stage,
        valid_from as stage_changed_on

    from ranked
    where recency = 1 and lifecycle_stage is not null

)

select * from final
