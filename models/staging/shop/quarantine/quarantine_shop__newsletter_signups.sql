-- Raw newsletter_signups rows that cannot be used, with the reason, the raw values as text and the load time.
-- A view over the incremental base model; quarantined_at is when a run last processed the row.
{{ config(materialized='view') }}

with

rejected as (

    select * from {{ ref('base_shop__newsletter_signups') }}
    where quarantine_reason is not null

),

final as (

    select
        -- lineage
        'newsletter_signups' as source_name,
        _source_file as source_file,
        quarantine_reason,
        loaded_at as quarantined_at,

        -- raw values (a duplicate's are its cleaned values: usable rows keep no raw text)
        {{ stored_raw_text('signup_id') }} as signup_id,
        {{ stored_raw_text('email') }} as email,
        {{ stored_raw_text('signed_up_at') }} as signed_up_at,
        -- the contract names this column `source`
        {{ stored_raw_text('source', 'signup_source') }} as source,  -- noqa: RF04
        {{ stored_raw_text('unsubscribed_at') }} as unsubscribed_at

    from rejected

)

select * from final
