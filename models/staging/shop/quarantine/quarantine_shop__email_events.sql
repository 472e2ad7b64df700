-- Raw email_events rows that cannot be used, with the reason, the raw values as text and the load time.
-- A view over the incremental base model; quarantined_at is when a run last processed the row.
{{ config(materialized='view') }}

with

rejected as (

    select * from {{ ref('base_shop__email_events') }}
    where quarantine_reason is not null

),

final as (

    select
        -- lineage
        'email_events' as source_name,
        _source_file as source_file,
        quarantine_reason,
        loaded_at as quarantined_at,

        -- raw values (a duplicate's are its cleaned values: usable rows keep no raw text)
        {{ stored_raw_text('event_id') }} as event_id,
        {{ stored_raw_text('email') }} as email,
        {{ stored_raw_text('campaign_id') }} as campaign_id,
        {{ stored_raw_text('event_type') }} as event_type,
        {{ stored_raw_text('occurred_at') }} as occurred_at

    from rejected

)

select * from final
