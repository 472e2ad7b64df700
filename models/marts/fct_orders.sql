{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_that_left_the_window(
            ref('base_shop__orders'), ref('stg_shop__orders'), 'order_id', 'ordered_at',
            ref('int_lifecycle__as_of_date')) }}",
    )
}}
-- One row per valid order up to the as-of date, with the person it belongs to and its purchase flags.
-- Incremental by load time (README "Incremental refresh and history"): a run writes only the orders staged after
-- the stored rows or newly inside the as-of window; the pre-hook deletes the orders that left the window or the
-- usable rows. An order's row depends on nothing but its staged row and the window.
with

orders as (

    select * from {{ ref('int_orders__attributed') }}

),

{%- if is_incremental() %}
    {%- set latest = stored_maxima(this, ['loaded_at', 'ordered_at']) %}
{%- endif %}

-- A full build (or an empty table) writes every order; an incremental run the orders staged since the stored
-- rows were written or later than every stored one.
orders_to_write as (

    {% if is_incremental() -%}
        {{ rows_staged_or_admitted_since('orders', latest, 'ordered_at') }}
    {%- else -%}
        select * from orders
    {%- endif %}

),

final as (

    select
        -- ids
        order_id,
        customer_key,
        customer_id,

        -- attributes
        status,
        is_purchase,
        is_returned_or_cancelled,

        -- amounts
        cast(amount as {{ dbt.type_numeric() }}) as amount,
        cast(purchase_amount as {{ dbt.type_numeric() }}) as purchase_amount,

        -- dates
        ordered_at,
        order_date,

        -- when staging last (re)derived the order: the next incremental run picks up anything staged later
        loaded_at

    from orders_to_write

)

select * from final
