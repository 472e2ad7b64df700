-- Order facts per person with at least one valid order (any status): the BTYD summary, revenue, intervals
-- and the expected rhythm. Buyer facts are NULL for persons whose orders were all returned/cancelled.
-- The per-person aggregates come from int_customers__order_summary; this pass adds what depends on all
-- persons (the population median) or on the as-of date.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

order_summary as (

    select * from {{ ref('int_customers__order_summary') }}

),

-- Expected interval for one-time buyers: the median first-to-second purchase gap of all repeat buyers.
population_first_gap as (

    select percentile_cont(0.5) within group (order by first_gap_days) as median_first_gap_days
    from order_summary
    where first_gap_days is not null

),

joined as (

    select
        order_summary.customer_key,
        as_of.as_of_date,
        order_summary.valid_orders,
        order_summary.returned_or_cancelled_orders,
        order_summary.first_order_date,
        order_summary.last_order_date,
        order_summary.purchase_days,
        order_summary.avg_repeat_order_value,
        order_summary.avg_interval_days,
        order_summary.median_interval_days,
        order_summary.stddev_interval_days,
        population_first_gap.median_first_gap_days,
        case when order_summary.purchase_days is not null then order_summary.order_count end as order_count,
        case when order_summary.purchase_days is not null then order_summary.net_revenue end as net_revenue,
        case
            when order_summary.purchase_days > 1
                then order_summary.avg_interval_days
            when order_summary.purchase_days = 1
                then population_first_gap.median_first_gap_days
        end as raw_expected_interval_days
    from order_summary
    cross join as_of
    cross join population_first_gap

),

expected as (

    select
        *,
        {{ dbt.datediff('last_order_date', 'as_of_date', 'day') }}
            as days_since_last_order,
        -- No repeat buyer at all (no population median): fall back to the floor.
        case
            when purchase_days is not null
                then
                    case
                        when raw_expected_interval_days is null
                            or raw_expected_interval_days < {{ var('min_interval_days') }}
                            then cast({{ var('min_interval_days') }} as {{ type_double() }})
                        else cast(raw_expected_interval_days as {{ type_double() }})
                    end
        end as expected_interval_days
    from joined

),

final as (

    select
        -- ids
        customer_key,

        -- counts
        cast(valid_orders as {{ dbt.type_bigint() }}) as valid_orders,
        cast(order_count as {{ dbt.type_bigint() }}) as order_count,
        cast(purchase_days as {{ dbt.type_bigint() }}) as purchase_days,
        cast(returned_or_cancelled_orders as {{ dbt.type_bigint() }}) as returned_or_cancelled_orders,

        -- dates
        first_order_date,
        last_order_date,

        -- BTYD summary (lifetimes' summary_data_from_transaction_data, freq "D")
        cast(purchase_days - 1 as {{ dbt.type_bigint() }}) as frequency,
        cast(
            {{ dbt.datediff('first_order_date', 'last_order_date', 'day') }}
            as {{ dbt.type_bigint() }}
        ) as recency_days,
        cast(
            {{ dbt.datediff('first_order_date', 'as_of_date', 'day') }}
            as {{ dbt.type_bigint() }}
        ) as tenure_days,
        cast(
            case when purchase_days > 1 then avg_repeat_order_value when purchase_days = 1 then 0 end
            as {{ type_double() }}
        ) as avg_repeat_order_value,

        -- recency
        cast(days_since_last_order as {{ dbt.type_bigint() }}) as days_since_last_order,

        -- amounts
        cast(net_revenue as {{ type_amount() }}) as net_revenue,
        cast(net_revenue as {{ type_double() }}) / order_count as avg_order_value,
        cast(returned_or_cancelled_orders as {{ type_double() }}) / valid_orders as return_rate,

        -- rhythm
        cast(avg_interval_days as {{ type_double() }}) as avg_interval_days,
        cast(median_interval_days as {{ type_double() }}) as median_interval_days,
        cast(stddev_interval_days as {{ type_double() }}) as stddev_interval_days,
        expected_interval_days,
        -- halves away from zero on every engine (PostgreSQL's round(double) rounds them to even)
        {%- set interval_days = round_half_away_from_zero('expected_interval_days') %}
        cast(
            {{ dbt.dateadd('day', 'cast(' ~ interval_days ~ ' as ' ~ dbt.type_int() ~ ')', 'last_order_date') }}
            as date
        ) as expected_next_order_date,
        cast(days_since_last_order as {{ type_double() }}) / expected_interval_days as overdue_ratio,
        case
            when days_since_last_order > expected_interval_days
                then cast(days_since_last_order as {{ type_double() }}) - expected_interval_days
            when expected_interval_days is not null then 0.0
        end as days_overdue

    from expected

)

select * from final
