-- Raw email_events rows that cannot be used, with the reason and the raw values as text: the landed rows with a defect,
-- and the rows an id did not keep (duplicates).
with

landed as (

    select * from {{ ref('base_shop__email_events') }}

),

duplicates as (

    select * from {{ ref('base_shop__duplicate_email_events') }}

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
        'email_events' as source_name,
        _source_file as source_file,
        coalesce(row_defect, 'duplicate_event_id') as quarantine_reason,
        _loaded_at as quarantined_at,

        -- raw values (a duplicate's are its typed values as text: usable rows keep no raw text)
        {{ stored_raw_text('event_id') }} as event_id,
        {{ stored_raw_text('email') }} as email,
        {{ stored_raw_text('campaign_id') }} as campaign_id,
        {{ stored_raw_text('event_type') }} as event_type,
        {{ stored_raw_text('occurred_at') }} as occurred_at,

        -- a CSV record the reader could not split into the header's fields: its text as written
        raw_record

    from rejected

)

select * from final
