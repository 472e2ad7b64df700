-- How many persons moved from each stage to each other stage between consecutive recorded as-of dates
-- (stage_history_dates); a person first known on the later date comes from 'not_known'. Derived from the
-- changes alone: movers are the history rows of the later date whose stage differs from the row before;
-- stayers are the persons in a stage on the earlier date (a running sum of entries and exits) minus the movers
-- who left it.
with

history as (

    select * from {{ ref('customer_stage_history') }}

),

recorded_dates as (

    select * from {{ ref('stage_history_dates') }}

),

date_pairs as (

    select
        lag(as_of_date) over (order by as_of_date asc nulls last) as from_as_of_date,
        as_of_date as to_as_of_date
    from recorded_dates

),

with_previous as (

    select
        valid_from,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_key order by valid_from asc nulls last) as previous_stage
    from history

),

stage_changes as (

    select * from with_previous
    where lifecycle_stage is distinct from previous_stage

),

stage_deltas as (

    select
        valid_from,
        lifecycle_stage,
        1 as delta
    from stage_changes
    where lifecycle_stage is not null

    union all

    select
        valid_from,
        previous_stage as lifecycle_stage,
        -1 as delta
    from stage_changes
    where previous_stage is not null

),

stages as (

    select distinct lifecycle_stage
    from stage_deltas

),

date_deltas as (

    select
        date_pairs.to_as_of_date as as_of_date,
        stages.lifecycle_stage,
        coalesce(sum(stage_deltas.delta), 0) as delta
    from date_pairs
    cross join stages
    left join stage_deltas
        on
            date_pairs.to_as_of_date = stage_deltas.valid_from
            and stages.lifecycle_stage = stage_deltas.lifecycle_stage
    group by date_pairs.to_as_of_date, stages.lifecycle_stage

),

persons_per_stage as (

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

leavers as (

    select
        valid_from,
        previous_stage as lifecycle_stage,
        count(*) as persons
    from stage_changes
    where previous_stage is not null
    group by valid_from, previous_stage

),

stayers as (

    select
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        persons_per_stage.lifecycle_stage as from_stage,
        persons_per_stage.lifecycle_stage as to_stage,
        persons_per_stage.persons - coalesce(leavers.persons, 0) as persons
    from date_pairs
    inner join persons_per_stage
        on date_pairs.from_as_of_date = persons_per_stage.as_of_date
    left join leavers
        on
            date_pairs.to_as_of_date = leavers.valid_from
            and persons_per_stage.lifecycle_stage = leavers.lifecycle_stage

),

movers as (

    select
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        coalesce(stage_changes.previous_stage, 'not_known') as from_stage,
        stage_changes.lifecycle_stage as to_stage,
        count(*) as persons
    from stage_changes
    inner join date_pairs
        on stage_changes.valid_from = date_pairs.to_as_of_date
    where stage_changes.lifecycle_stage is not null and date_pairs.from_as_of_date is not null
    group by
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        coalesce(stage_changes.previous_stage, 'not_known'),
        stage_changes.lifecycle_stage

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
