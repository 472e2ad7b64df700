-- Where each known person stands as of the as-of date: int_customers__lifecycle with its stage changes, contracted.
with

lifecycle as (

    select * from {{ ref('int_customers__lifecycle') }}

),

stage_changes as (

    select * from {{ ref('int_customers__stage_changes') }}

),

with_stage_changes as (

    select
        lifecycle.*,
        stage_changes.previous_stage,
        stage_changes.stage_changed_on
    from lifecycle
    left join stage_changes
        on
            lifecycle.customer_key = stage_changes.customer_key
            and lifecycle.as_of_date = stage_changes.as_of_date

),

final as (

    select
        customer_key,
        as_of_date,
        lifecycle_stage,
        is_active,
        is_vip,
        engagement,
        is_subscribed,
        is_dissatisfied,
        is_archived,
        has_open_cart,
        r_score,
        f_score,
        m_score,
        rfm_segment,
        vip_score,
        first_order_date,
        last_order_date,
        order_count,
        purchase_days,
        frequency,
        recency_days,
        tenure_days,
        avg_repeat_order_value,
        days_since_last_order,
        net_revenue,
        avg_order_value,
        valid_orders,
        return_rate,
        avg_interval_days,
        median_interval_days,
        stddev_interval_days,
        expected_interval_days,
        expected_next_order_date,
        overdue_ratio,
        days_overdue,
        deliveries_in_window,
        opens_in_window,
        clicks_in_window,
        email_sessions_in_window,
        sessions,
        stitched_sessions,
        main_device,
        main_channel,
        last_seen_at,
        signup_source,
        first_signed_up_at,
        first_seen_at,

        -- stage history (README "Incremental refresh and history")
        previous_stage,
        stage_changed_on

    from with_stage_changes

)

select * from final
