{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dedup_key',
        on_schema_change='fail',
    )
}}
{%- set raw_columns = ['signup_id', 'email', 'signed_up_at', 'source', 'unsubscribed_at'] %}
-- Every raw signup row, typed, with the reason it cannot be used (NULL = usable).
with

-- Inlined: read twice (typing and repeated_ids); a stored copy of every raw row costs more than a second scan.
source as {{ cte_storage(false) }} (

    select * from {{ source('shop', 'newsletter_signups') }}

),

fingerprinted as (

    select
        *,
        {{ raw_row_fingerprint(raw_columns) }} as raw_row_hash
    from source

),

keyed as (

    select
        *,
        {{ dedup_key('signup_id') }} as dedup_key
    from fingerprinted

),

-- Full build: every raw row. Incremental run: every raw row of the ids that changed (macros/incremental.sql),
-- stored once: it is small, costly to find and used twice.
in_scope as {{ cte_storage(is_incremental()) }} (

    {{ rows_to_process('keyed', 'newsletter_signups', raw_columns, {'source': 'signup_source'}) }}

),

typed as (

    select
        -- incremental bookkeeping
        dedup_key,
        raw_row_hash,
        _source_file,

        -- raw text, kept for the quarantine
        signup_id as raw_signup_id,
        email as raw_email,
        signed_up_at as raw_signed_up_at,
        source as raw_source,
        unsubscribed_at as raw_unsubscribed_at,

        -- ids
        nullif(trim(signup_id), '') as signup_id,
        {{ normalize_email('email') }} as email,

        -- attributes
        coalesce({{ normalize_enum('source') }}, 'unknown') as signup_source,

        -- timestamps
        {{ to_utc_timestamp('signed_up_at') }} as signed_up_at,
        {{ to_utc_timestamp('unsubscribed_at') }} as unsubscribed_at

    from in_scope

),

-- Inlined: used twice below, and storing this wide CTE once costs as much as the ranking itself.
checked as {{ cte_storage(false) }} (

    select
        *,
        {{ first_failing_check([
            ('signup_id is null', 'missing_signup_id'),
            ('email is null', 'missing_email'),
            ('not ' ~ is_valid_email('email'), 'invalid_email'),
            ('signed_up_at is null', 'invalid_signed_up_at'),
            ('signed_up_at > ' ~ future_cutoff(), 'future_signed_up_at'),
            ("unsubscribed_at is null and nullif(trim(raw_unsubscribed_at), '') is not null", 'invalid_unsubscribed_at'),
            ('unsubscribed_at > ' ~ future_cutoff(), 'future_unsubscribed_at'),
        ]) }} as row_defect
    from typed

),

-- Ids with more than one raw row: only these need ranking (reads one column).
repeated_ids as (

    select nullif(trim(signup_id), '') as signup_id
    from in_scope
    where nullif(trim(signup_id), '') is not null
    group by nullif(trim(signup_id), '')
    having count(*) > 1

),

ranked as (

    -- A row with a defect is quarantined for it, and an id seen once is its own winner: no ranking.
    select
        *,
        1 as signup_id_rank
    from checked
    where
        row_defect is not null
        or not exists (
            select 1 from repeated_ids
            where repeated_ids.signup_id = checked.signup_id
        )

    union all

    -- A repeated signup_id keeps its earliest usable row; equal timestamps are decided by the file: a later
    -- file supersedes an earlier one, then by raw_row_hash (arbitrary but the same on every run).
    select
        *,
        row_number() over (
            partition by signup_id
            order by signed_up_at asc, _source_file desc, raw_row_hash asc
        ) as signup_id_rank
    from checked
    where
        row_defect is null
        and signup_id in (select repeated_ids.signup_id from repeated_ids)

),

final as (

    select
        -- incremental bookkeeping
        dedup_key,
        raw_row_hash,
        _source_file,

        -- raw text, kept only where the quarantine needs it
        {{ raw_text_of_rows_with_defect(raw_columns) }},

        -- ids
        signup_id,
        email,

        -- attributes
        signup_source,

        -- timestamps
        signed_up_at,
        unsubscribed_at,

        -- checks
        row_defect,
        signup_id_rank,
        case
            when row_defect is not null then row_defect
            when signup_id_rank > 1 then 'duplicate_signup_id'
        end as quarantine_reason,

        -- when this run processed the row
        {{ run_loaded_at() }} as loaded_at

    from ranked

)

select * from final
