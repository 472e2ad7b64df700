-- A view: the usable rows of the incremental base model (README "Incremental refresh and history").
{{ config(materialized='view') }}

with

base as (

    select * from {{ ref('base_shop__newsletter_signups') }}
    where quarantine_reason is null

),

final as (

    select
        -- ids
        signup_id,
        email,

        -- attributes
        signup_source,

        -- timestamps
        signed_up_at,
        unsubscribed_at

    from base

)

select * from final
