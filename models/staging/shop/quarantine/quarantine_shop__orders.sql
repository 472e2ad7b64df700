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

        -- raw values
        raw_order_id as order_id,
        raw_customer_id as customer_id,
        raw_email as email,
        raw_ordered_at as ordered_at,
        raw_status as status,
        raw_amount as amount

    from rejected

)

select * from final
