-- A view: the usable rows of the incremental base model (README "Incremental refresh and history").
{{ config(materialized='view') }}

with

base as (

    select * from {{ ref('base_shop__orders') }}
    where quarantine_reason is null

),

final as (

    select
        -- ids
        order_id,
        customer_id,
        email,

        -- attributes
        status,
        amount,

        -- timestamps
        ordered_at,

        -- load time: fct_orders writes the orders staged after its stored rows
        loaded_at

    from base

)

select * from final
