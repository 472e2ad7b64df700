-- Raw sessions rows that cannot be used, with the reason, the raw values as text and the load time.
-- A view over the incremental base model; quarantined_at is when a run last processed the row.
{{ config(materialized='view') }}

with

rejected as (

    select * from {{ ref('base_shop__sessions') }}
    where quarantine_reason is not null

),

final as (

    select
        -- lineage
        'sessions' as source_name,
        _source_file as source_file,
        quarantine_reason,
        loaded_at as quarantined_at,

        -- raw values (a duplicate's are its cleaned values: usable rows keep no raw text)
        {{ stored_raw_text('session_id') }} as session_id,
        {{ stored_raw_text('visitor_id') }} as visitor_id,
        {{ stored_raw_text('customer_id') }} as customer_id,
        {{ stored_raw_text('email') }} as email,
        {{ stored_raw_text('started_at') }} as started_at,
        {{ stored_raw_text('ended_at', 'ended_at_or_null') }} as ended_at,
        {{ stored_raw_text('device') }} as device,
        {{ stored_raw_text('channel') }} as channel,
        {{ stored_raw_text('page_views') }} as page_views,
        {{ stored_raw_text('cart_adds') }} as cart_adds,
        {{ stored_raw_text('cart_value') }} as cart_value,
        {{ stored_raw_text('order_id') }} as order_id

    from rejected

)

select * from final
