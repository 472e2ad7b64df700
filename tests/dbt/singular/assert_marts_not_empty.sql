-- The marts a dashboard cannot do without have rows whenever there is a valid order up to the as-of date
-- (fct_orders; not staging, for the reason given in assert_net_revenue_reconciles): an empty one means a broken
-- join or filter, not a quiet day. Audiences and cart reminders may legitimately be empty. Returns one row per
-- empty mart.
with

orders as (

    select count(*) as valid_orders
    from {{ ref('fct_orders') }}

),

mart_rows as (

    select
        'customer_lifecycle' as mart,
        count(*) as mart_rows
    from {{ ref('customer_lifecycle') }}

    union all

    select
        'lifecycle_summary' as mart,
        count(*) as mart_rows
    from {{ ref('lifecycle_summary') }}

    union all

    select
        'rfm_summary' as mart,
        count(*) as mart_rows
    from {{ ref('rfm_summary') }}

),

final as (

    select
        mart_rows.mart,
        mart_rows.mart_rows,
        orders.valid_orders
    from mart_rows
    cross join orders
    where mart_rows.mart_rows = 0 and orders.valid_orders > 0

)

select * from final
