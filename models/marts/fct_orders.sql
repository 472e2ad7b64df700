-- One row per valid order up to the as-of date, with the person it belongs to and its purchase flags.
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
        cast(amount as {{ type_amount() }}) as amount,
        cast(purchase_amount as {{ type_amount() }}) as purchase_amount,

        -- dates
        ordered_at,
        order_date

    from orders

)

select * from final
