-- Persons per stage on each recorded as-of date, from the stage starts alone: a running sum, over the recorded
-- dates, of the persons entering (+1) and leaving (−1) each stage. Stages nobody was ever in have no rows.
{{ config(materialized='view') }}

with

recorded_dates as (

    select * from {{ ref('stage_history_dates') }}

),

stage_starts as (

    select * from {{ ref('customer_stage_starts') }}

),

stage_deltas as (

    select
        valid_from,
        lifecycle_stage,
        1 as delta
    from stage_starts
    where lifecycle_stage is not null

    union all

    select
        valid_from,
        previous_stage as lifecycle_stage,
        -1 as delta
    from stage_starts
    where previous_stage is not null

),

stages as (

    select distinct lifecycle_stage
    from stage_deltas

),

date_deltas as (

    select
        recorded_dates.as_of_date,
        stages.lifecycle_stage,
        coalesce(sum(stage_deltas.delta), 0) as delta
    from recorded_dates
    cross join stages
    left join stage_deltas
        on
            recorded_dates.as_of_date = stage_deltas.valid_from
            and stages.lifecycle_stage = stage_deltas.lifecycle_stage
    group by recorded_dates.as_of_date, stages.lifecycle_stage

),

running_counts as (

    select
        as_of_date,
        lifecycle_stage,
        sum(delta) over (
            partition by lifecycle_stage
            order by as_of_date asc nulls last
            rows between unbounded preceding and current row
        ) as persons
    from date_deltas

),

final as (

    select
        -- grain
        as_of_date,
        lifecycle_stage,

        -- counts
        cast(persons as {{ dbt.type_bigint() }}) as persons

    from running_counts

)

select * from final
