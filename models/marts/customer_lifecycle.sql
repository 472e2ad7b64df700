-- Where each known person stands as of the as-of date: stage, overlays, RFM, order facts, sessions and the
-- stage change before it (from the stage history), one wide row per person, contracted. The prediction columns
-- come from the dbt Python models of models/intermediate/prediction/ where they run (predictions_available()),
-- and are NULL elsewhere.
with

stages as (

    select * from {{ ref('int_customers__stages') }}

),

order_facts as (

    select * from {{ ref('int_customers__order_facts') }}

),

rfm_scores as (

    select * from {{ ref('int_customers__rfm_scores') }}

),

overlays as (

    select * from {{ ref('int_customers__overlays') }}

),

session_summary as (

    select * from {{ ref('int_customers__session_summary') }}

),

stage_changes as (

    select * from {{ ref('customer_stage_changes') }}

),

predictions as (

    {% if predictions_available() %}
        select * from {{ ref('int_customers__predictions') }}
    {% else %}
        -- no prediction models on this engine (macros/prediction.sql): no rows, so the columns are NULL
        select
            customer_key,
            cast(null as {{ type_double() }}) as p_alive,
            cast(null as {{ type_double() }}) as expected_orders_90d,
            cast(null as {{ type_double() }}) as expected_order_value,
            cast(null as {{ type_double() }}) as predicted_clv_365d
        from order_facts
        where 1 = 0
    {% endif %}

),

final as (

    select
        -- ids
        stages.customer_key,
        stages.as_of_date,

        -- stage and overlays
        stages.lifecycle_stage,
        stages.is_active,
        overlays.is_vip,
        overlays.was_vip,
        overlays.engagement,
        overlays.is_subscribed,
        overlays.is_dissatisfied,
        overlays.is_archived,
        overlays.has_open_cart,

        -- rfm
        rfm_scores.r_score,
        rfm_scores.f_score,
        rfm_scores.m_score,
        rfm_scores.rfm_segment,
        overlays.vip_score,

        -- purchase facts (NULL for non-buyers)
        order_facts.first_order_date,
        order_facts.last_order_date,
        order_facts.order_count,
        order_facts.purchase_days,
        order_facts.frequency,
        order_facts.recency_days,
        order_facts.tenure_days,
        order_facts.avg_repeat_order_value,
        order_facts.days_since_last_order,
        cast(coalesce(order_facts.net_revenue, 0) as {{ type_amount() }}) as net_revenue,
        order_facts.avg_order_value,
        cast(coalesce(order_facts.valid_orders, 0) as {{ dbt.type_bigint() }}) as valid_orders,
        order_facts.return_rate,

        -- rhythm
        order_facts.avg_interval_days,
        order_facts.median_interval_days,
        order_facts.stddev_interval_days,
        order_facts.expected_interval_days,
        order_facts.expected_next_order_date,
        order_facts.overdue_ratio,
        order_facts.days_overdue,

        -- prediction (NULL for non-buyers and when not fitted: marts.btyd_parameters says why)
        predictions.p_alive,
        predictions.expected_orders_90d,
        predictions.expected_order_value,
        predictions.predicted_clv_365d,

        -- engagement in the window
        overlays.deliveries_in_window,
        overlays.opens_in_window,
        overlays.clicks_in_window,
        overlays.email_sessions_in_window,

        -- sessions
        cast(coalesce(session_summary.sessions, 0) as {{ dbt.type_bigint() }}) as sessions,
        cast(coalesce(session_summary.stitched_sessions, 0) as {{ dbt.type_bigint() }}) as stitched_sessions,
        session_summary.main_device,
        session_summary.main_channel,
        session_summary.last_seen_at,

        -- signup
        overlays.signup_source,
        overlays.first_signed_up_at,
        stages.first_seen_at,

        -- stage history (marts/history/_history__docs.md)
        stage_changes.previous_stage,
        stage_changes.stage_changed_on

    from stages
    left join order_facts
        on stages.customer_key = order_facts.customer_key
    left join rfm_scores
        on stages.customer_key = rfm_scores.customer_key
    left join overlays
        on stages.customer_key = overlays.customer_key
    left join session_summary
        on stages.customer_key = session_summary.customer_key
    left join stage_changes
        on stages.customer_key = stage_changes.customer_key
    left join predictions
        on stages.customer_key = predictions.customer_key

)

select * from final
