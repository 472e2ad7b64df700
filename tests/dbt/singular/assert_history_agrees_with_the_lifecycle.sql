-- On the run's as-of date D, the stage history's state of every person (their latest row with valid_from <= D)
-- equals customer_lifecycle's tracked columns, and the history knows exactly the persons the mart knows.
-- Returns each disagreeing person with what to do. It fails when D is earlier than the latest recorded as-of
-- date and the state differs (the history only moves forward and appended nothing), or when D was run again on
-- changed data (the row of D cannot be replaced without a DELETE). The history is left as it was: run the
-- latest as-of date (select max(as_of_date) from stage_history_dates) or a later one; to record earlier dates,
-- drop customer_stage_history and stage_history_dates and backfill the dates in order (--as-of-range).
{{ config(severity='error') }}

with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

history as (

    select * from {{ ref('customer_stage_history') }}

),

recorded_dates as (

    select * from {{ ref('stage_history_dates') }}

),

as_of as (

    select max(as_of_date) as as_of_date
    from lifecycle

),

ranked as (

    select
        history.*,
        row_number() over (partition by history.customer_key order by history.valid_from desc nulls last) as recency
    from history
    inner join as_of
        on history.valid_from <= as_of.as_of_date

),

history_on_as_of_date as (

    select * from ranked
    where recency = 1 and lifecycle_stage is not null

),

disagreements as (

    select
        coalesce(lifecycle.customer_key, history_on_as_of_date.customer_key) as customer_key,
        history_on_as_of_date.valid_from as history_valid_from,
        history_on_as_of_date.lifecycle_stage as history_stage,
        lifecycle.lifecycle_stage
    from lifecycle
    full outer join history_on_as_of_date
        on lifecycle.customer_key = history_on_as_of_date.customer_key
    where
        lifecycle.customer_key is null
        or history_on_as_of_date.customer_key is null
        or lifecycle.lifecycle_stage is distinct from history_on_as_of_date.lifecycle_stage
        or lifecycle.rfm_segment is distinct from history_on_as_of_date.rfm_segment
        or lifecycle.is_vip is distinct from history_on_as_of_date.is_vip
        or lifecycle.engagement is distinct from history_on_as_of_date.engagement

),

final as (

    select
        disagreements.*,
        as_of.as_of_date,
        (select max(recorded_dates.as_of_date) from recorded_dates) as latest_recorded_as_of_date,
        'customer_stage_history does not match customer_lifecycle on this as-of date and was left unchanged: '
        || 'run the latest recorded as-of date or a later one; to record earlier dates, drop '
        || 'customer_stage_history and stage_history_dates and backfill the dates in order (--as-of-range)'
            as what_to_do
    from disagreements
    cross join as_of

)

select * from final
