-- Buyer cohorts: the month of a buyer's first purchase × the months since it, up to the as-of month. Every
-- cohort has a row for every month from its first up to the as-of month, with zeros where nobody bought
-- (a complete grid for a heatmap). Revenue is net revenue: completed orders only, as everywhere else.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

-- 0, 1, 2, … months after the first purchase: 1,200 months (100 years) is more than any cohort can be old,
-- since earliest_valid_date quarantines older timestamps.
month_numbers as (

    {{ dbt.generate_series(1200) }}

),

as_of_month as (

    select
        as_of_date,
        cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as as_of_month,
        as_of_date < cast({{ dbt.last_day('as_of_date', 'month') }} as date) as is_as_of_month_partial
    from as_of

),

purchases as (

    select
        customer_key,
        purchase_amount,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as order_month
    from orders
    where is_purchase

),

first_purchases as (

    select
        customer_key,
        min(order_month) as cohort_month
    from purchases
    group by customer_key

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_buyers
    from first_purchases
    group by cohort_month

),

monthly_activity as (

    select
        first_purchases.cohort_month,
        {{ dbt.datediff('first_purchases.cohort_month', 'purchases.order_month', 'month') }}
            as months_since_first_purchase,
        count(distinct purchases.customer_key) as active_buyers,
        sum(purchases.purchase_amount) as net_revenue
    from purchases
    inner join first_purchases
        on purchases.customer_key = first_purchases.customer_key
    group by
        first_purchases.cohort_month,
        {{ dbt.datediff('first_purchases.cohort_month', 'purchases.order_month', 'month') }}

),

-- Every cohort × every month from its first up to the as-of month.
cohort_months as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_buyers,
        as_of_month.as_of_date,
        as_of_month.as_of_month,
        as_of_month.is_as_of_month_partial,
        cast(month_numbers.generated_number as {{ dbt.type_int() }}) - 1 as months_since_first_purchase,
        cast(
            {{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'cohort_sizes.cohort_month') }} as date
        ) as activity_month
    from cohort_sizes
    cross join as_of_month
    inner join month_numbers
        on
            month_numbers.generated_number - 1
            <= {{ dbt.datediff('cohort_sizes.cohort_month', 'as_of_month.as_of_month', 'month') }}

),

filled as (

    select
        cohort_months.*,
        coalesce(monthly_activity.active_buyers, 0) as active_buyers,
        coalesce(monthly_activity.net_revenue, 0) as net_revenue
    from cohort_months
    left join monthly_activity
        on
            cohort_months.cohort_month = monthly_activity.cohort_month
            and cohort_months.months_since_first_purchase = monthly_activity.months_since_first_purchase

),

cumulated as (

    select
        *,
        sum(net_revenue) over (
            partition by cohort_month
            order by months_since_first_purchase asc
            rows between unbounded preceding and current row
        ) as cumulative_net_revenue
    from filled

),

final as (

    select
        -- grain
        cohort_month,
        cast(months_since_first_purchase as {{ dbt.type_int() }}) as months_since_first_purchase,
        activity_month,

        -- as-of
        as_of_date,
        activity_month = as_of_month and is_as_of_month_partial as is_partial_month,

        -- buyers
        cast(cohort_buyers as {{ dbt.type_bigint() }}) as cohort_buyers,
        cast(active_buyers as {{ dbt.type_bigint() }}) as active_buyers,
        cast(active_buyers as {{ type_double() }}) / cohort_buyers as retention_share,

        -- amounts
        cast(net_revenue as {{ type_amount() }}) as net_revenue,
        cast(cumulative_net_revenue as {{ type_amount() }}) as cumulative_net_revenue,
        cast(cumulative_net_revenue as {{ type_double() }}) / cohort_buyers as cumulative_revenue_per_buyer

    from cumulated

)

select * from final
