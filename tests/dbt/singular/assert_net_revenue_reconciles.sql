-- Net revenue adds up: the sum of net_revenue in customer_lifecycle and in lifecycle_summary each equals the
-- amount of the completed orders placed on or before the as-of date, recomputed here from the order rows
-- (fct_orders: the valid orders up to the as-of date) rather than trusted from the per-person models in between
-- (±0.01). Not from staging: a test with a staging parent would run in `dbt build --select staging`, before
-- the marts exist. Returns one row per mart that disagrees.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

lifecycle_summary as (

    select * from {{ ref('lifecycle_summary') }}

),

expected as (

    select coalesce(sum(orders.amount), 0) as net_revenue
    from orders
    cross join as_of
    where
        orders.status = 'completed'
        and orders.order_date <= as_of.as_of_date

),

totals as (

    select
        'customer_lifecycle' as mart,
        coalesce(sum(net_revenue), 0) as net_revenue
    from lifecycle

    union all

    select
        'lifecycle_summary' as mart,
        coalesce(sum(net_revenue), 0) as net_revenue
    from lifecycle_summary

),

final as (

    select
        totals.mart,
        totals.net_revenue as mart_net_revenue,
        expected.net_revenue as completed_orders_amount
    from totals
    cross join expected
    where abs(totals.net_revenue - expected.net_revenue) > 0.01

)

select * from final
