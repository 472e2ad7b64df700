-- One row per known person as of the as-of date: facts, lifecycle stage, overlays and RFM.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

persons as (

    select * from {{ ref('int_customers__identity') }}
    where identifier_type = 'email'

),

order_facts as (

    select * from {{ ref('int_customers__order_facts') }}

),

engagement as (

    select * from {{ ref('int_customers__email_engagement') }}

),

subscriptions as (

    select * from {{ ref('int_customers__subscriptions') }}

),

session_summary as (

    select * from {{ ref('int_customers__session_summary') }}

),

open_carts as (

    select distinct customer_key
    from {{ ref('int_sessions__recent_carts') }}
    where is_open and customer_key is not null

),

staged as (

    select
        -- ids
        persons.customer_key,

        -- order facts (NULL for non-buyers); listed, not order_facts.*, which would repeat customer_key
        order_facts.valid_orders,
        order_facts.order_count,
        order_facts.purchase_days,
        order_facts.first_order_date,
        order_facts.last_order_date,
        order_facts.frequency,
        order_facts.recency_days,
        order_facts.tenure_days,
        order_facts.avg_repeat_order_value,
        order_facts.days_since_last_order,
        order_facts.net_revenue,
        order_facts.avg_order_value,
        order_facts.return_rate,
        order_facts.avg_interval_days,
        order_facts.median_interval_days,
        order_facts.stddev_interval_days,
        order_facts.expected_interval_days,
        order_facts.expected_next_order_date,
        order_facts.overdue_ratio,
        order_facts.days_overdue,

        -- timestamps
        persons.first_seen_at,

        -- stage
        case
            when order_facts.purchase_days is null then 'prospect'
            when order_facts.overdue_ratio > {{ var('lapsed_factor') }} then 'lapsed'
            when order_facts.overdue_ratio > {{ var('at_risk_factor') }} then 'at_risk'
            when order_facts.purchase_days = 1 then 'new'
            else 'repeat'
        end as lifecycle_stage
    from persons
    left join order_facts
        on persons.customer_key = order_facts.customer_key

),

buyers as (

    select
        customer_key,
        days_since_last_order,
        order_count,
        tenure_days,
        net_revenue
    from staged
    where purchase_days is not null

),

buyer_count as (

    select count(*) as buyers
    from buyers

),

-- Recency, order count and tenure are whole numbers with few distinct values: ranked from per-value counts
-- rather than by sorting every buyer. Never NULL for a buyer (every order has a date), so joined on `=`.
recency_ranks as (

    {{ rank_by_value_counts('buyers', 'days_since_last_order', 'desc') }}

),

order_count_ranks as (

    {{ rank_by_value_counts('buyers', 'order_count', 'asc') }}

),

tenure_ranks as (

    {{ rank_by_value_counts('buyers', 'tenure_days', 'asc') }}

),

-- Ranks over buyers, each in the "better" direction (last = best), so equal values share a rank. Revenue has
-- too many distinct values for per-value counts: a real window.
buyer_ranks as (

    select
        buyers.customer_key,
        buyers.net_revenue,
        recency_ranks.value_rank as r_rank,
        order_count_ranks.value_rank as f_rank,
        rank() over (order by buyers.net_revenue asc nulls last) as m_rank,
        (
            {{ percent_rank_from_rank('order_count_ranks.value_rank', 'buyer_count.buyers') }}
            + {{ percent_rank_from_rank('tenure_ranks.value_rank', 'buyer_count.buyers') }}
            + percent_rank() over (order by buyers.net_revenue asc nulls last)
        ) / 3.0 as vip_score,
        buyer_count.buyers
    from buyers
    cross join buyer_count
    left join recency_ranks
        on buyers.days_since_last_order = recency_ranks.days_since_last_order
    left join order_count_ranks
        on buyers.order_count = order_count_ranks.order_count
    left join tenure_ranks
        on buyers.tenure_days = tenure_ranks.tenure_days

),

buyer_scores as (

    select
        customer_key,
        vip_score,
        {{ score_from_rank('r_rank', 'buyers') }} as r_score,
        {{ score_from_rank('f_rank', 'buyers') }} as f_score,
        {{ score_from_rank('m_rank', 'buyers') }} as m_score,
        row_number() over (
            order by vip_score desc nulls last, net_revenue desc nulls last, customer_key asc nulls last
        ) as vip_rank,
        buyers
    from buyer_ranks

),

joined as (

    select
        staged.*,
        buyer_scores.vip_score,
        buyer_scores.r_score,
        buyer_scores.f_score,
        buyer_scores.m_score,
        coalesce(buyer_scores.vip_rank <= {{ var('vip_share') }} * buyer_scores.buyers, false) as is_vip,
        coalesce(engagement.engagement, 'unknown') as engagement,
        engagement.deliveries_in_window,
        engagement.opens_in_window,
        engagement.clicks_in_window,
        engagement.email_sessions_in_window,
        coalesce(subscriptions.is_subscribed, false) as is_subscribed,
        subscriptions.signup_source,
        subscriptions.first_signed_up_at,
        coalesce(
            staged.valid_orders >= 2 and staged.return_rate >= {{ var('dissatisfied_return_rate') }}, false
        ) as is_dissatisfied,
        open_carts.customer_key is not null as has_open_cart,
        coalesce(session_summary.sessions, 0) as sessions,
        coalesce(session_summary.stitched_sessions, 0) as stitched_sessions,
        session_summary.main_device,
        session_summary.main_channel,
        session_summary.last_seen_at
    from staged
    left join buyer_scores
        on staged.customer_key = buyer_scores.customer_key
    left join engagement
        on staged.customer_key = engagement.customer_key
    left join subscriptions
        on staged.customer_key = subscriptions.customer_key
    left join open_carts
        on staged.customer_key = open_carts.customer_key
    left join session_summary
        on staged.customer_key = session_summary.customer_key

),

final as (

    select
        -- ids
        joined.customer_key,
        as_of.as_of_date,

        -- stage and overlays
        joined.lifecycle_stage,
        joined.lifecycle_stage in ('new', 'repeat') as is_active,
        joined.is_vip,
        joined.engagement,
        joined.is_subscribed,
        joined.is_dissatisfied,
        joined.lifecycle_stage = 'lapsed' and joined.engagement = 'cold' as is_archived,
        joined.has_open_cart,

        -- rfm
        joined.r_score,
        joined.f_score,
        joined.m_score,
        {{ rfm_segment('joined.r_score', 'joined.f_score') }} as rfm_segment,
        cast(joined.vip_score as {{ type_double() }}) as vip_score,

        -- purchase facts (NULL for non-buyers)
        joined.first_order_date,
        joined.last_order_date,
        joined.order_count,
        joined.purchase_days,
        joined.frequency,
        joined.recency_days,
        joined.tenure_days,
        joined.avg_repeat_order_value,
        joined.days_since_last_order,
        cast(coalesce(joined.net_revenue, 0) as {{ dbt.type_numeric() }}) as net_revenue,
        joined.avg_order_value,
        cast(coalesce(joined.valid_orders, 0) as {{ dbt.type_bigint() }}) as valid_orders,
        joined.return_rate,

        -- rhythm
        joined.avg_interval_days,
        joined.median_interval_days,
        joined.stddev_interval_days,
        joined.expected_interval_days,
        joined.expected_next_order_date,
        joined.overdue_ratio,
        joined.days_overdue,

        -- engagement in the window
        cast(coalesce(joined.deliveries_in_window, 0) as {{ dbt.type_bigint() }}) as deliveries_in_window,
        cast(coalesce(joined.opens_in_window, 0) as {{ dbt.type_bigint() }}) as opens_in_window,
        cast(coalesce(joined.clicks_in_window, 0) as {{ dbt.type_bigint() }}) as clicks_in_window,
        cast(coalesce(joined.email_sessions_in_window, 0) as {{ dbt.type_bigint() }}) as email_sessions_in_window,

        -- sessions
        cast(joined.sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(joined.stitched_sessions as {{ dbt.type_bigint() }}) as stitched_sessions,
        joined.main_device,
        joined.main_channel,
        joined.last_seen_at,

        -- signup
        joined.signup_source,
        joined.first_signed_up_at,
        joined.first_seen_at

    from joined
    cross join as_of

)

select * from final
