-- How many persons moved from each stage to each other stage between consecutive as-of dates of the history.
-- A person first seen at the later date comes from 'not_known'.
with

history as (

    select * from {{ ref('customer_stage_history') }}

),

as_of_dates as (

    select distinct as_of_date
    from history

),

-- Each recorded as-of date with the one recorded before it.
date_pairs as (

    select
        as_of_date as to_as_of_date,
        lag(as_of_date) over (order by as_of_date asc nulls last) as from_as_of_date
    from as_of_dates

),

-- Every person seen on the later date, with their stage on the earlier one (NULL = not known then).
moves as (

    select
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        coalesce(earlier.lifecycle_stage, 'not_known') as from_stage,
        later.lifecycle_stage as to_stage
    from date_pairs
    inner join history as later
        on date_pairs.to_as_of_date = later.as_of_date
    left join history as earlier
        on
            date_pairs.from_as_of_date = earlier.as_of_date
            and later.customer_key = earlier.customer_key
    where date_pairs.from_as_of_date is not null

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
        count(*) as persons

    from moves
    group by from_as_of_date, to_as_of_date, from_stage, to_stage

)

select * from final
