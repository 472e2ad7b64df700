-- Orders up to the as-of date with their person and purchase flags. An order belongs to the person of the
-- email on it (every valid order has one).
-- A view: fct_orders stores these rows; the per-person models aggregate by email and hash once per person.
{{ config(materialized='view') }}

with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

orders_in_window as (

    select orders.*
    from orders
    cross join as_of
    where orders.ordered_at < as_of.as_of_end_at

),

final as (

    select
        -- ids
        order_id,
        {{ person_key('email') }} as customer_key,
        email,
        customer_id,

        -- attributes
        status,
        status = 'completed' as is_purchase,
        status in ('returned', 'cancelled') as is_returned_or_cancelled,

        -- amounts
        amount,
        case when status = 'completed' then amount else 0 end as purchase_amount,

        -- dates
        ordered_at,
        cast(ordered_at as date) as order_date

    from orders_in_window

)

select * from final
