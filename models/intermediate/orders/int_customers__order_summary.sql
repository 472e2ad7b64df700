-- Order aggregates per person (email) with at least one valid order: counts, revenue, purchase days and the
-- intervals between them. int_customers__order_facts adds the population median and the as-of arithmetic.
with

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
        sum(purchase_amount) as net_revenue,
        max(ordered_at) as last_ordered_at
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
        ) as stddev_interval_days,
        -- for the population median of int_customers__order_facts
        max(case when purchase_day_number = 2 then gap_days end) as first_gap_days
    from purchase_gaps
    group by email

),

final as (

    select
        -- ids
        order_summary.email,
        {{ person_key('order_summary.email') }} as customer_key,

        -- counts
        cast(order_summary.valid_orders as {{ dbt.type_bigint() }}) as valid_orders,
        cast(order_summary.order_count as {{ dbt.type_bigint() }}) as order_count,
        cast(order_summary.returned_or_cancelled_orders as {{ dbt.type_bigint() }}) as returned_or_cancelled_orders,
        cast(day_summary.purchase_days as {{ dbt.type_bigint() }}) as purchase_days,

        -- amounts
        order_summary.net_revenue,
        cast(day_summary.avg_repeat_order_value as {{ type_double() }}) as avg_repeat_order_value,

        -- dates
        day_summary.first_order_date,
        day_summary.last_order_date,
        order_summary.last_ordered_at,

        -- rhythm
        cast(gap_summary.avg_interval_days as {{ type_double() }}) as avg_interval_days,
        cast(gap_summary.median_interval_days as {{ type_double() }}) as median_interval_days,
        cast(gap_summary.stddev_interval_days as {{ type_double() }}) as stddev_interval_days,
        cast(gap_summary.first_gap_days as {{ dbt.type_bigint() }}) as first_gap_days

    from order_summary
    left join day_summary
        on order_summary.email = day_summary.email
    left join gap_summary
        on order_summary.email = gap_summary.email

)

select * from final
