-- Per person: since when they are in their current stage, and the stage they were in before, from the stage
-- history of earlier as-of dates plus the current one.
with

lifecycle as (

    select * from {{ ref('int_customers__lifecycle') }}

),

history as (

    select * from {{ ref('customer_stage_history') }}

),

current_stages as (

    select
        customer_key,
        as_of_date,
        lifecycle_stage
    from lifecycle

),

-- Only dates before the current one: the history may also hold this date (it is written first) or later
-- dates (when an earlier date is backfilled).
earlier_stages as (

    select
        history.customer_key,
        history.as_of_date,
        history.lifecycle_stage
    from history
    inner join current_stages
        on
            history.customer_key = current_stages.customer_key
            and history.as_of_date < current_stages.as_of_date

),

timeline as (

    select * from earlier_stages
    union all
    select * from current_stages

),

with_stage_before as (

    select
        customer_key,
        as_of_date,
        lifecycle_stage,
        lag(lifecycle_stage) over (
            partition by customer_key
            order by as_of_date asc nulls last
        ) as stage_before
    from timeline

),

-- The as-of dates on which a person entered a stage (the first recorded date counts as entering).
stage_starts as (

    select
        customer_key,
        as_of_date,
        stage_before
    from with_stage_before
    where stage_before is null or stage_before != lifecycle_stage

),

latest_start as (

    select
        customer_key,
        max(as_of_date) as stage_changed_on
    from stage_starts
    group by customer_key

),

final as (

    select
        -- ids
        latest_start.customer_key,

        -- stage change
        stage_starts.stage_before as previous_stage,
        latest_start.stage_changed_on

    from latest_start
    inner join stage_starts
        on
            latest_start.customer_key = stage_starts.customer_key
            and latest_start.stage_changed_on = stage_starts.as_of_date

)

select * from final
