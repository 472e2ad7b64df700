{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
        post_hook="{{ delete_rows_missing_from(this, 'order_id', ref('int_orders__attributed')) }}",
    )
}}
-- One row per valid order up to the as-of date, with the person it belongs to and its purchase flags.
-- Incremental by difference (macros/incremental_sync.sql): a run writes only new or changed orders and deletes
-- the orders that left int_orders__attributed, so the table always equals a full rebuild.
with

orders as (

    select * from {{ ref('int_orders__attributed') }}

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
        order_date

    from orders

),

-- An incremental run writes only orders that are new or whose stored row differs in any column.
rows_to_write as (

    select * from final
    {% if is_incremental() -%}
        except
        select * from {{ this }}
    {%- endif %}

)

select * from rows_to_write
