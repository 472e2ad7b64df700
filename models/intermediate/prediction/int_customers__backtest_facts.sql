-- The backtest's view of every buyer who had bought by the cutoff (as-of date − prediction_horizon_days): the
-- BTYD summary as of the cutoff (what the backtest fit sees), the purchase days after it up to the as-of date
-- (what happened), and whether the stage rule called the buyer lapsed at the cutoff (int_customers__order_facts
-- and int_customers__stages applied to the purchase days up to the cutoff).
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

purchase_days as (

    select * from {{ ref('int_customers__purchase_days') }}

),

cutoff as (

    select
        as_of_date,
        cast(
            {{ dbt.dateadd('day', -1 * var('prediction_horizon_days'), 'as_of_date') }} as date
        ) as cutoff_date
    from as_of

),

dated_days as (

    select
        purchase_days.customer_key,
        purchase_days.purchase_day_number,
        purchase_days.purchase_date,
        purchase_days.previous_purchase_date,
        cutoff.cutoff_date,
        cutoff.as_of_date,
        purchase_days.purchase_date <= cutoff.cutoff_date as is_before_cutoff
    from purchase_days
    cross join cutoff

),

-- Purchase days are numbered from the first, so days 1 and 2 up to the cutoff are the same as in the full
-- history: the first gap is known at the cutoff when day 2 falls on or before it.
calibration as (

    select
        customer_key,
        count(*) as purchase_days,
        min(purchase_date) as first_order_date,
        max(purchase_date) as last_order_date,
        max(
            case
                when purchase_day_number = 2
                    then {{ dbt.datediff('previous_purchase_date', 'purchase_date', 'day') }}
            end
        ) as first_gap_days
    from dated_days
    where is_before_cutoff
    group by customer_key

),

holdout as (

    select
        customer_key,
        count(*) as holdout_purchase_days
    from dated_days
    where not is_before_cutoff
    group by customer_key

),

population_first_gap as (

    select percentile_cont(0.5) within group (order by first_gap_days) as median_first_gap_days
    from calibration
    where first_gap_days is not null

),

at_cutoff as (

    select
        calibration.customer_key,
        calibration.purchase_days,
        calibration.first_order_date,
        calibration.last_order_date,
        cutoff.cutoff_date,
        cutoff.as_of_date,
        population_first_gap.median_first_gap_days,
        coalesce(holdout.holdout_purchase_days, 0) as holdout_purchase_days
    from calibration
    cross join cutoff
    cross join population_first_gap
    left join holdout
        on calibration.customer_key = holdout.customer_key

),

summarised as (

    select
        customer_key,
        cutoff_date,
        as_of_date,
        purchase_days,
        holdout_purchase_days,
        median_first_gap_days,
        purchase_days - 1 as frequency,
        {{ dbt.datediff('first_order_date', 'last_order_date', 'day') }}
            as recency_days,
        {{ dbt.datediff('first_order_date', 'cutoff_date', 'day') }}
            as tenure_days,
        {{ dbt.datediff('last_order_date', 'cutoff_date', 'day') }}
            as days_since_last_order
    from at_cutoff

),

-- int_customers__order_facts' expected interval: the mean gap (recency / frequency) of a repeat buyer, the
-- population's median first gap for a one-time buyer, at least min_interval_days.
expected as (

    select
        *,
        case
            when purchase_days > 1 then cast(recency_days as {{ type_double() }}) / frequency
            else median_first_gap_days
        end as raw_expected_interval_days
    from summarised

),

floored as (

    select
        *,
        case
            when raw_expected_interval_days is null
                or raw_expected_interval_days < {{ var('min_interval_days') }}
                then cast({{ var('min_interval_days') }} as {{ type_double() }})
            else cast(raw_expected_interval_days as {{ type_double() }})
        end as expected_interval_days
    from expected

),

final as (

    select
        -- ids
        customer_key,

        -- dates
        cutoff_date,
        as_of_date,

        -- BTYD summary as of the cutoff
        cast(frequency as {{ dbt.type_bigint() }}) as frequency,
        cast(recency_days as {{ dbt.type_bigint() }}) as recency_days,
        cast(tenure_days as {{ dbt.type_bigint() }}) as tenure_days,

        -- what happened after the cutoff
        cast(holdout_purchase_days as {{ dbt.type_bigint() }}) as holdout_purchase_days,

        -- the stage rule at the cutoff
        cast(days_since_last_order as {{ dbt.type_bigint() }}) as days_since_last_order,
        expected_interval_days,
        cast(days_since_last_order as {{ type_double() }}) / expected_interval_days as overdue_ratio,
        cast(days_since_last_order as {{ type_double() }}) / expected_interval_days
        > {{ var('lapsed_factor') }} as was_lapsed

    from floored

)

select * from final
