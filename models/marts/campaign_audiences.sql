-- Who to talk to next: one row per person and audience (a person may be in several audiences). Rules version 2:
-- archived persons (cold and not active) leave every mailing audience; post_purchase follows any purchase and
-- says which (purchase_number); replenishment covers every active buyer (the second-purchase nudge for new ones).
with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

persons as (

    select * from {{ ref('int_persons__identified') }}

),

cart_reminders as (

    select
        customer_key,
        count(*) as carts,
        sum(cart_value) as cart_value,
        max(session_ended_at) as last_cart_ended_at
    from {{ ref('int_sessions__cart_reminders') }}
    group by customer_key

),

memberships as (

    select
        customer_key,
        'first_purchase' as audience,
        'subscribed prospect, not archived: no purchase yet' as reason
    from lifecycle
    where lifecycle_stage = 'prospect' and is_subscribed and not is_archived

    union all

    select
        customer_key,
        'post_purchase' as audience,
        case
            when purchase_days = 1 then 'first purchase (welcome)'
            else 'purchase ' || cast(purchase_days as {{ dbt.type_string() }}) || ' (review, cross-sell)'
        end || ', at most {{ var("post_purchase_days") }} days ago, not archived' as reason
    from lifecycle
    where
        purchase_days is not null
        and days_since_last_order <= {{ var('post_purchase_days') }}
        and not is_archived

    union all

    select
        customer_key,
        'replenishment' as audience,
        case
            when lifecycle_stage = 'new' then 'one-time buyer, second purchase'
            else 'repeat buyer, next order'
        end || ' expected within {{ var("replenishment_lead_days") }} days' as reason
    from lifecycle
    where
        is_active
        and {{ dbt.datediff('as_of_date', 'expected_next_order_date', 'day') }}
        between 0 and {{ var('replenishment_lead_days') }}

    union all

    select
        customer_key,
        'reactivation' as audience,
        lifecycle_stage || ' buyer, subscribed, not archived, not dissatisfied' as reason
    from lifecycle
    where
        lifecycle_stage in ('at_risk', 'lapsed')
        and is_subscribed
        and not is_archived
        and not is_dissatisfied

    union all

    select
        customer_key,
        'service_callback' as audience,
        'dissatisfied buyer: call, do not promote' as reason
    from lifecycle
    where is_dissatisfied and purchase_days is not null

    union all

    select
        customer_key,
        'vip_reward' as audience,
        'active VIP' as reason
    from lifecycle
    where is_vip and is_active

    union all

    select
        customer_key,
        'abandoned_cart' as audience,
        'cart reminder due' as reason
    from cart_reminders

),

final as (

    select
        -- ids
        memberships.customer_key,
        persons.email,

        -- audience
        memberships.audience,
        memberships.reason,
        lifecycle.lifecycle_stage,

        -- figures
        case when memberships.audience = 'post_purchase' then lifecycle.purchase_days end as purchase_number,
        lifecycle.order_count,
        lifecycle.net_revenue,
        lifecycle.days_since_last_order,
        lifecycle.expected_next_order_date,
        lifecycle.overdue_ratio,
        lifecycle.return_rate,
        lifecycle.vip_score,
        -- to sort the people to win back or reward by what they are predicted to be worth
        case
            when memberships.audience in ('reactivation', 'vip_reward') then lifecycle.predicted_clv_365d
        end as predicted_clv_365d,
        cast(cart_reminders.cart_value as {{ type_amount() }}) as open_cart_value,
        cart_reminders.last_cart_ended_at,

        -- dates
        lifecycle.as_of_date

    from memberships
    inner join lifecycle
        on memberships.customer_key = lifecycle.customer_key
    inner join persons
        on memberships.customer_key = persons.customer_key
    left join cart_reminders
        on memberships.audience = 'abandoned_cart' and memberships.customer_key = cart_reminders.customer_key

)

select * from final
