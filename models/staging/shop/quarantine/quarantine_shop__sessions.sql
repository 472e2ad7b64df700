-- Raw sessions rows that cannot be used, with the reason and the raw values as text: the landed rows with a defect,
-- and the rows an id did not keep (duplicates).
with

landed as (

    select * from {{ ref('base_shop__sessions') }}

),

duplicates as (

    select * from {{ ref('base_shop__duplicate_sessions') }}

),

rejected as (

    select
        *,
        0 as duplicate_rank
    from landed
    where row_defect is not null

    union all

    select * from duplicates
    where duplicate_rank > 1

),

final as (

    select
        -- lineage
        'sessions' as source_name,
        _source_file as source_file,
        coalesce(row_defect, 'duplicate_session_id') as quarantine_reason,
        _loaded_at as quarantined_at,

        -- raw values (a duplicate's are its typed values as text: usable rows keep no raw text)
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
        {{ stored_raw_text('order_id') }} as order_id,

        -- a CSV record the reader could not split into the header's fields: its text as written
        raw_record

    from rejected

)

select * from final
