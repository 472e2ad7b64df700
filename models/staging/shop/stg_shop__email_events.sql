-- A view: the usable rows of the incremental base model (README "Incremental refresh and history").
{{ config(materialized='view') }}

with

base as (

    select * from {{ ref('base_shop__email_events') }}
    where quarantine_reason is null

),

final as (

    select
        -- ids
        event_id,
        email,
        campaign_id,

        -- attributes
        event_type,

        -- timestamps
        occurred_at

    from base

)

select * from final
