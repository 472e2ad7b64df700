{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='fail',
        full_refresh=false,
        pre_hook="{{ convert_stored_person_keys(this) }}",
        post_hook="{{ forget_old_stage_history(ref('int_lifecycle__as_of_date')) }}",
    )
}}
-- depends_on: {{ ref('int_lifecycle__as_of_date') }}
-- One row per known person per as-of date the pipeline ran for. A run replaces the rows of its own as-of date
-- (delete+insert on as_of_date), so running a date twice never duplicates it. full_refresh = false: a
-- --full-refresh rebuilds everything else but keeps the history, which cannot be re-derived from the marts.
-- No load-time column: the same data and as-of date give the same rows (and byte-identical exports).
-- var stage_history_keep_days bounds it: the post-hook forgets older dates (README "The file grows with the history").
with

lifecycle as (

    select * from {{ ref('int_customers__lifecycle') }}

),

final as (

    select
        -- ids
        customer_key,

        -- dates
        as_of_date,

        -- stage and overlays
        lifecycle_stage,
        rfm_segment,
        is_vip,
        engagement,
        is_subscribed,

        -- scores
        r_score,
        f_score,
        m_score,

        -- key figures
        order_count,
        net_revenue,
        days_since_last_order,
        overdue_ratio,
        expected_next_order_date

    from lifecycle

)

select * from final
