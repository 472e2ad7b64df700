-- The overlay flags of every known person as of the as-of date (flags, not stages), with the figures behind
-- them: is_vip and was_vip, engagement, is_subscribed, is_dissatisfied (2+ valid orders and return_rate at or
-- above dissatisfied_return_rate), is_archived (cold and not active: lapsed or at-risk buyers and prospects who
-- ignore mail) and has_open_cart.
with

stages as (

    select * from {{ ref('int_customers__stages') }}

),

order_facts as (

    select * from {{ ref('int_customers__order_facts') }}

),

vip as (

    select * from {{ ref('int_customers__vip') }}

),

engagement as (

    select * from {{ ref('int_customers__email_engagement') }}

),

subscriptions as (

    select * from {{ ref('int_customers__subscriptions') }}

),

open_carts as (

    select distinct customer_key
    from {{ ref('int_sessions__recent_carts') }}
    where is_open and customer_key is not null

),

joined as (

    select
        stages.customer_key,
        stages.is_active,
        vip.vip_score,
        coalesce(vip.is_vip, false) as is_vip,
        coalesce(vip.was_vip, false) as was_vip,
        coalesce(engagement.engagement, 'unknown') as engagement,
        engagement.deliveries_in_window,
        engagement.opens_in_window,
        engagement.clicks_in_window,
        engagement.email_sessions_in_window,
        coalesce(subscriptions.is_subscribed, false) as is_subscribed,
        subscriptions.signup_source,
        subscriptions.first_signed_up_at,
        coalesce(
            order_facts.valid_orders >= 2 and order_facts.return_rate >= {{ var('dissatisfied_return_rate') }},
            false
        ) as is_dissatisfied,
        open_carts.customer_key is not null as has_open_cart
    from stages
    left join order_facts
        on stages.customer_key = order_facts.customer_key
    left join vip
        on stages.customer_key = vip.customer_key
    left join engagement
        on stages.customer_key = engagement.customer_key
    left join subscriptions
        on stages.customer_key = subscriptions.customer_key
    left join open_carts
        on stages.customer_key = open_carts.customer_key

),

final as (

    select
        -- ids
        customer_key,

        -- flags
        is_vip,
        was_vip,
        engagement,
        is_subscribed,
        is_dissatisfied,
        engagement = 'cold' and not is_active as is_archived,
        has_open_cart,

        -- vip
        vip_score,

        -- engagement in the window
        cast(coalesce(deliveries_in_window, 0) as {{ dbt.type_bigint() }}) as deliveries_in_window,
        cast(coalesce(opens_in_window, 0) as {{ dbt.type_bigint() }}) as opens_in_window,
        cast(coalesce(clicks_in_window, 0) as {{ dbt.type_bigint() }}) as clicks_in_window,
        cast(coalesce(email_sessions_in_window, 0) as {{ dbt.type_bigint() }}) as email_sessions_in_window,

        -- signup
        signup_source,
        first_signed_up_at

    from joined

)

select * from final
