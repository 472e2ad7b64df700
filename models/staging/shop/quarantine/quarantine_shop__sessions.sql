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

        -- raw values
        raw_session_id as session_id,
        raw_visitor_id as visitor_id,
        raw_customer_id as customer_id,
        raw_email as email,
        raw_started_at as started_at,
        raw_ended_at as ended_at,
        raw_device as device,
        raw_channel as channel,
        raw_page_views as page_views,
        raw_cart_adds as cart_adds,
        raw_cart_value as cart_value,
        raw_order_id as order_id

    from rejected

)

select * from final
