-- The state the stage history tracks, per known person as of the as-of date: stage, RFM segment, VIP flag
-- and engagement. A view: only customer_stage_history reads it.
{{ config(materialized='view') }}

with

stages as (

    select * from {{ ref('int_customers__stages') }}

),

rfm_scores as (

    select * from {{ ref('int_customers__rfm_scores') }}

),

overlays as (

    select * from {{ ref('int_customers__overlays') }}

),

final as (

    select
        -- ids
        stages.customer_key,
        stages.as_of_date,

        -- tracked state
        stages.lifecycle_stage,
        rfm_scores.rfm_segment,
        overlays.is_vip,
        overlays.engagement

    from stages
    left join rfm_scores
        on stages.customer_key = rfm_scores.customer_key
    left join overlays
        on stages.customer_key = overlays.customer_key

)

select * from final
