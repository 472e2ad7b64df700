-- Usable sessions, one row per session_id: the landed rows without a defect, de-duplicated by the contract's rule.
with

kept as (

    {{ kept_rows(ref('base_shop__sessions'), ref('base_shop__duplicate_sessions'), 'sessions') }}

),

final as (

    select
        -- ids
        session_id,
        visitor_id,
        customer_id,
        email,
        order_id,

        -- attributes
        device,
        channel,

        -- counts and amounts
        page_views,
        cart_adds,
        cart_value,

        -- timestamps
        started_at,
        -- Contract: an unknown end is the start; an end before the start is taken as the start too.
        case
            when ended_at_or_null is null or ended_at_or_null < started_at then started_at
            else ended_at_or_null
        end as ended_at

    from kept

)

select * from final
