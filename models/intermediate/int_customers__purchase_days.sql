-- One row per person and purchase day (calendar date, UTC, with at least one completed order).
-- A view for drill-down and its tests: int_customers__order_summary computes the same days (macro
-- numbered_purchase_days) from the orders of the persons it re-derives.
{{ config(materialized='view') }}

with

orders as (

    select * from {{ ref('int_orders__attributed') }}

),

numbered as (

    {{ numbered_purchase_days('orders') }}

),

final as (

    select
        -- ids
        {{ person_key('email') }} as customer_key,
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
