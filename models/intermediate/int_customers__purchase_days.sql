-- One row per person and purchase day (calendar date, UTC, with at least one completed order).
-- A view: only int_customers__order_facts reads it, in the same query, grouped by email (customer_key is then
-- never computed there: it is hashed once per person instead).
{{ config(materialized='view') }}

with

orders as (

    select * from {{ ref('int_orders__attributed') }}
    where is_purchase

),

daily as (

    select
        email,
        order_date as purchase_date,
        count(*) as purchases,
        sum(amount) as purchase_amount
    from orders
    group by email, order_date

),

numbered as (

    select
        email,
        purchase_date,
        purchases,
        purchase_amount,
        row_number() over (
            partition by email order by purchase_date asc nulls last
        ) as purchase_day_number,
        lag(purchase_date) over (
            partition by email order by purchase_date asc nulls last
        ) as previous_purchase_date
    from daily

),

final as (

    select
        -- ids
        {{ dbt.hash('email') }} as customer_key,
        email,
        purchase_day_number,

        -- counts and amounts
        purchases,
        purchase_amount,

        -- dates
        purchase_date,
        previous_purchase_date

    from numbered

)

select * from final
