-- Usable orders, one row per order_id: the landed rows without a defect, de-duplicated by the contract's rule.
with

kept as (

    {{ kept_rows(ref('base_shop__orders'), ref('base_shop__duplicate_orders'), 'orders') }}

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
        ordered_at

    from kept

)

select * from final
