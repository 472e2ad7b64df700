-- Raw orders rows that cannot be used, with the reason, the raw values as text and the load time.
-- A view over the incremental base model; quarantined_at is when a run last processed the row.
{{ config(materialized='view') }}

with

rejected as (

    select * from {{ ref('base_shop__orders') }}
    where quarantine_reason is not null

),

final as (

    select
        -- lineage
        'orders' as source_name,
        _source_file as source_file,
        quarantine_reason,
        loaded_at as quarantined_at,

        -- raw values (a duplicate's are its cleaned values: usable rows keep no raw text)
        {{ stored_raw_text('order_id') }} as order_id,
        {{ stored_raw_text('customer_id') }} as customer_id,
        {{ stored_raw_text('email') }} as email,
        {{ stored_raw_text('ordered_at') }} as ordered_at,
        {{ stored_raw_text('status') }} as status,
        {{ stored_raw_text('amount') }} as amount

    from rejected

)

select * from final
