-- Order facts per person with at least one valid order (any status): the BTYD summary, revenue, intervals
-- and the expected rhythm. Buyer facts are NULL for persons whose orders were all returned/cancelled.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

orders as (

    select * from {{ ref('int_orders__attributed') }}

),

purchase_days as (

    select * from {{ ref('int_customers__purchase_days') }}

),

purchase_gaps as (

    select * from {{ ref('int_customers__purchase_gaps') }}

),

order_summary as (

    select
        email,
        count(*) as valid_orders,
        sum(case when is_purchase then 1 else 0 end) as order_count,
        sum(case when is_returned_or_cancelled then 1 else 0 end) as returned_or_cancelled_orders,
        sum(purchase_amount) as net_revenue
    from orders
    group by email

),

day_summary as (

    select
        email,
        min(purchase_date) as first_order_date,
        max(purchase_date) as last_order_date,
        count(*) as purchase_days,
        avg(case when purchase_day_number > 1 then purchase_amount end) as avg_repeat_order_value
    from purchase_days
    group by email

),

gap_summary as (

    select
        email,
        avg(cast(gap_days as {{ type_double() }})) as avg_interval_days,
        percentile_cont(0.5) within group (order by gap_days) as median_interval_days,
        -- Population standard deviation from exact integer sums (n·Σx² − (Σx)²) / n², so that re-runs give
        -- identical values whatever order the rows are aggregated in.
        sqrt(
            cast(count(*) * sum(gap_days * gap_days) - sum(gap_days) * sum(gap_days) as {{ type_double() }})
            / (count(*) * count(*))
        ) as stddev_interval_days
    from purchase_gaps
    group by email

),

-- Expected interval for one-time buyers: the median first-to-second purchase gap of all repeat buyers.
population_first_gap as (

    select percentile_cont(0.5) within group (order by gap_days) as median_first_gap_days
    from purchase_gaps
    where purchase_day_number = 2

),

joined as (

    select
        -- everything above is per email; hashed once per person here
        {{ dbt.hash('order_summary.email') }} as customer_key,
        as_of.as_of_date,
        order_summary.valid_orders,
        order_summary.returned_or_cancelled_orders,
        day_summary.first_order_date,
        day_summary.last_order_date,
        day_summary.purchase_days,
        day_summary.avg_repeat_order_value,
        gap_summary.avg_interval_days,
        gap_summary.median_interval_days,
        gap_summary.stddev_interval_days,
        population_first_gap.median_first_gap_days,
        case when day_summary.email is not null then order_summary.order_count end as order_count,
        case when day_summary.email is not null then order_summary.net_revenue end as net_revenue,
        case
            when day_summary.purchase_days > 1
                then gap_summary.avg_interval_days
            when day_summary.purchase_days = 1
                then population_first_gap.median_first_gap_days
        end as raw_expected_interval_days
    from order_summary
    cross join as_of
    cross join population_first_gap
    left join day_summary
        on order_summary.email = day_summary.email
    left join gap_summary
        on order_summary.email = gap_summary.email

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
        cast(net_revenue as {{ dbt.type_numeric() }}) as net_revenue,
        cast(net_revenue as {{ type_double() }}) / order_count as avg_order_value,
        cast(returned_or_cancelled_orders as {{ type_double() }}) / valid_orders as return_rate,

        -- rhythm
        cast(avg_interval_days as {{ type_double() }}) as avg_interval_days,
        cast(median_interval_days as {{ type_double() }}) as median_interval_days,
        cast(stddev_interval_days as {{ type_double() }}) as stddev_interval_days,
        expected_interval_days,
        cast(
            {{ dbt.dateadd('day', 'cast(round(expected_interval_days) as ' ~ dbt.type_int() ~ ')', 'last_order_date') }}
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
