-- Raw newsletter_signups rows that cannot be used, with the reason and the raw values as text: the landed
-- rows with a defect, and the rows an id did not keep (duplicates).
with

landed as (

    select * from {{ ref('base_shop__newsletter_signups') }}

),

duplicates as (

    select * from {{ ref('base_shop__duplicate_newsletter_signups') }}

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
        'newsletter_signups' as source_name,
        _source_file as source_file,
        coalesce(row_defect, 'duplicate_signup_id') as quarantine_reason,
        _loaded_at as quarantined_at,

        -- raw values (a duplicate's are its typed values as text: usable rows keep no raw text)
        {{ stored_raw_text('signup_id') }} as signup_id,
        {{ stored_raw_text('email') }} as email,
        {{ stored_raw_text('signed_up_at') }} as signed_up_at,
        {{ stored_raw_text('source', 'signup_source') }} as source,  -- noqa: RF04
        {{ stored_raw_text('unsubscribed_at') }} as unsubscribed_at,

        -- a CSV record the reader could not split into the header's fields: its text as written
        raw_record

    from rejected

)

select * from final
