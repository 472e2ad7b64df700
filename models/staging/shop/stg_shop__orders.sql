-- Usable orders, one row per order_id: the landed rows without a defect, de-duplicated by the contract's rule.
with

ranked as (

    {{ ranked_landed_rows(ref('base_shop__orders'), 'orders') }}

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

    from ranked
    where duplicate_rank = 1

)

select * from final
