{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dedup_key',
        on_schema_change='fail',
    )
}}
{%- set raw_columns = ['event_id', 'email', 'campaign_id', 'event_type', 'occurred_at'] %}
-- Every raw email event row, typed, with the reason it cannot be used (NULL = usable).
with

-- Inlined: read twice (typing and repeated_ids); a stored copy of every raw row costs more than a second scan.
source as {{ cte_storage(false) }} (

    select * from {{ source('shop', 'email_events') }}

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
        {{ dedup_key('event_id') }} as dedup_key
    from fingerprinted

),

-- Full build: every raw row. Incremental run: every raw row of the ids that changed (macros/incremental.sql),
-- stored once: it is small, costly to find and used twice.
in_scope as {{ cte_storage(is_incremental()) }} (

    {{ rows_to_process('keyed', 'email_events', raw_columns) }}

),

typed as (

    select
        -- incremental bookkeeping
        dedup_key,
        raw_row_hash,
        _source_file,

        -- raw text, kept for the quarantine
        event_id as raw_event_id,
        email as raw_email,
        campaign_id as raw_campaign_id,
        event_type as raw_event_type,
        occurred_at as raw_occurred_at,

        -- ids
        nullif(trim(event_id), '') as event_id,
        {{ normalize_email('email') }} as email,
        nullif(trim(campaign_id), '') as campaign_id,

        -- attributes
        {{ normalize_enum('event_type') }} as event_type,

        -- timestamps
        {{ to_utc_timestamp('occurred_at') }} as occurred_at

    from in_scope

),

-- Inlined: used twice below, and storing this wide CTE once costs as much as the ranking itself.
checked as {{ cte_storage(false) }} (

    select
        *,
        {{ first_failing_check([
            ('event_id is null', 'missing_event_id'),
            ('email is null', 'missing_email'),
            ('not ' ~ is_valid_email('email'), 'invalid_email'),
            ('campaign_id is null', 'missing_campaign_id'),
            ("event_type is null or event_type not in ('delivered', 'open', 'click', 'bounce', 'unsubscribe')",
             'invalid_event_type'),
            ('occurred_at is null', 'invalid_occurred_at'),
            ('occurred_at > ' ~ future_cutoff(), 'future_occurred_at'),
        ]) }} as row_defect
    from typed

),

-- Ids with more than one raw row: only these need ranking (reads one column).
repeated_ids as (

    select nullif(trim(event_id), '') as event_id
    from in_scope
    where nullif(trim(event_id), '') is not null
    group by nullif(trim(event_id), '')
    having count(*) > 1

),

ranked as (

    -- A row with a defect is quarantined for it, and an id seen once is its own winner: no ranking.
    select
        *,
        1 as event_id_rank
    from checked
    where
        row_defect is not null
        or not exists (
            select 1 from repeated_ids
            where repeated_ids.event_id = checked.event_id
        )

    union all

    -- A repeated event_id keeps its earliest usable row; equal timestamps are decided by the file: a later
    -- file supersedes an earlier one, then by raw_row_hash (arbitrary but the same on every run).
    select
        *,
        row_number() over (
            partition by event_id
            order by occurred_at asc, _source_file desc, raw_row_hash asc
        ) as event_id_rank
    from checked
    where
        row_defect is null
        and event_id in (select repeated_ids.event_id from repeated_ids)

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
        event_id,
        email,
        campaign_id,

        -- attributes
        event_type,

        -- timestamps
        occurred_at,

        -- checks
        row_defect,
        event_id_rank,
        case
            when row_defect is not null then row_defect
            when event_id_rank > 1 then 'duplicate_event_id'
        end as quarantine_reason,

        -- when this run processed the row
        {{ run_loaded_at() }} as loaded_at

    from ranked

)

select * from final
