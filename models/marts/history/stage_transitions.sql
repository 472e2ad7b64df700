-- How many persons moved from each stage to each other stage between consecutive recorded as-of dates
-- (stage_history_dates); a person first known on the later date comes from 'not_known'. Movers are the stage
-- starts of the later date; stayers are the persons in a stage on the earlier date minus the movers who left it.
with

recorded_dates as (

    select * from {{ ref('stage_history_dates') }}

),

stage_starts as (

    select * from {{ ref('customer_stage_starts') }}

),

stage_counts as (

    select * from {{ ref('stage_history_counts') }}

),

date_pairs as (

    select
        lag(as_of_date) over (order by as_of_date asc nulls last) as from_as_of_date,
        as_of_date as to_as_of_date
    from recorded_dates

),

leavers as (

    select
        valid_from,
        previous_stage as lifecycle_stage,
        count(*) as persons
    from stage_starts
    where previous_stage is not null
    group by valid_from, previous_stage

),

stayers as (

    select
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        stage_counts.lifecycle_stage as from_stage,
        stage_counts.lifecycle_stage as to_stage,
        stage_counts.persons - coalesce(leavers.persons, 0) as persons
    from date_pairs
    inner join stage_counts
        on date_pairs.from_as_of_date = stage_counts.as_of_date
    left join leavers
        on
            date_pairs.to_as_of_date = leavers.valid_from
            and stage_counts.lifecycle_stage = leavers.lifecycle_stage

),

movers as (

    select
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        coalesce(stage_starts.previous_stage, 'not_known') as from_stage,
        stage_starts.lifecycle_stage as to_stage,
        count(*) as persons
    from stage_starts
    inner join date_pairs
        on stage_starts.valid_from = date_pairs.to_as_of_date
    where stage_starts.lifecycle_stage is not null and date_pairs.from_as_of_date is not null
    group by
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        coalesce(stage_starts.previous_stage, 'not_known'),
        stage_starts.lifecycle_stage

),

moves as (

    select * from stayers
    where persons > 0

    union all

    select * from movers

),

final as (

    select
        -- dates
        from_as_of_date,
        to_as_of_date,

        -- stages
        from_stage,
        to_stage,
        from_stage != to_stage as is_change,

        -- counts
        cast(persons as {{ dbt.type_bigint() }}) as persons

    from moves

)

select * from final
