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

-- A full build (or an empty table) writes every order. An incremental run writes the orders staged after the
-- stored rows were written (new, late, or re-derived: staging gives every row of a touched id a new loaded_at) ...
orders_to_write as (

    {% if not is_incremental() or latest.loaded_at is none -%}
        select * from orders
    {%- else -%}
        select * from orders
        where orders.loaded_at > {{ timestamp_literal(latest.loaded_at) }}

        union all

        -- ... and the orders later than every stored one: inside the window since the as-of date moved forward
        -- (no stored order is later, so none is missed)
        select * from orders
        where
            orders.ordered_at > {{ timestamp_literal(latest.ordered_at) }}
            and orders.loaded_at <= {{ timestamp_literal(latest.loaded_at) }}
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
