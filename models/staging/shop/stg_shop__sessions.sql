-- A view: the usable rows of the incremental base model (README "Incremental refresh and history").
{{ config(materialized='view') }}

with

base as (

    select * from {{ ref('base_shop__sessions') }}
    where quarantine_reason is null

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
        end as ended_at,

        -- load time: int_sessions__attributed re-attributes the sessions staged after its stored rows
        loaded_at

    from base

)

select * from final
