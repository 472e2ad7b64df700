{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dedup_key',
        on_schema_change='fail',
    )
}}
{%- set raw_columns = [
    'session_id', 'visitor_id', 'customer_id', 'email', 'started_at', 'ended_at',
    'device', 'channel', 'page_views', 'cart_adds', 'cart_value', 'order_id',
] %}
-- Every raw session row, typed, with the reason it cannot be used (NULL = usable).
with

-- Inlined: read twice (typing and repeated_ids); a stored copy of every raw row costs more than a second scan.
source as {{ cte_storage(false) }} (

    select * from {{ source('shop', 'sessions') }}

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
        {{ dedup_key('session_id') }} as dedup_key
    from fingerprinted

),

-- Full build: every raw row. Incremental run: every raw row of the ids that changed (macros/incremental.sql),
-- stored once: it is small, costly to find and used twice.
in_scope as {{ cte_storage(is_incremental()) }} (

    {{ rows_to_process('keyed', 'sessions', raw_columns, {'ended_at': 'ended_at_or_null'}) }}

),

typed as (

    select
        -- incremental bookkeeping
        dedup_key,
        raw_row_hash,
        _source_file,

        -- raw text, kept for the quarantine
        session_id as raw_session_id,
        visitor_id as raw_visitor_id,
        customer_id as raw_customer_id,
        email as raw_email,
        started_at as raw_started_at,
        ended_at as raw_ended_at,
        device as raw_device,
        channel as raw_channel,
        page_views as raw_page_views,
        cart_adds as raw_cart_adds,
        cart_value as raw_cart_value,
        order_id as raw_order_id,

        -- ids
        nullif(trim(session_id), '') as session_id,
        nullif(trim(visitor_id), '') as visitor_id,
        nullif(trim(customer_id), '') as customer_id,
        {{ normalize_email('email') }} as email,
        nullif(trim(order_id), '') as order_id,

        -- attributes
        coalesce({{ normalize_enum('device') }}, 'unknown') as device,
        coalesce({{ normalize_enum('channel') }}, 'unknown') as channel,

        -- counts and amounts
        {{ safe_try_cast_integer('page_views') }} as page_views,
        {{ safe_try_cast_integer('cart_adds') }} as cart_adds,
        {{ safe_try_cast('trim(cart_value)', dbt.type_numeric()) }} as cart_value,

        -- timestamps
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('ended_at') }} as ended_at_or_null

    from in_scope

),

-- Inlined: used twice below, and storing this wide CTE once costs as much as the ranking itself.
checked as {{ cte_storage(false) }} (

    select
        *,
        {{ first_failing_check([
            ('session_id is null', 'missing_session_id'),
            ('visitor_id is null', 'missing_visitor_id'),
            ('email is not null and not ' ~ is_valid_email('email'), 'invalid_email'),
            ('started_at is null', 'invalid_started_at'),
            ('started_at > ' ~ future_cutoff(), 'future_started_at'),
            ("ended_at_or_null is null and nullif(trim(raw_ended_at), '') is not null", 'invalid_ended_at'),
            ('ended_at_or_null > ' ~ future_cutoff(), 'future_ended_at'),
            ('page_views is null', 'invalid_page_views'),
            ('page_views < 0', 'negative_page_views'),
            ('cart_adds is null', 'invalid_cart_adds'),
            ('cart_adds < 0', 'negative_cart_adds'),
            ("cart_value is null and nullif(trim(raw_cart_value), '') is not null", 'invalid_cart_value'),
            ('cart_value < 0', 'negative_cart_value'),
        ]) }} as row_defect
    from typed

),

-- Ids with more than one raw row: only these need ranking (reads one column).
repeated_ids as (

    select nullif(trim(session_id), '') as session_id
    from in_scope
    where nullif(trim(session_id), '') is not null
    group by nullif(trim(session_id), '')
    having count(*) > 1

),

ranked as (

    -- A row with a defect is quarantined for it, and an id seen once is its own winner: no ranking.
    select
        *,
        1 as session_id_rank
    from checked
    where
        row_defect is not null
        or not exists (
            select 1 from repeated_ids
            where repeated_ids.session_id = checked.session_id
        )

    union all

    -- A repeated session_id keeps its earliest usable row; equal starts are decided by the file: a later
    -- file supersedes an earlier one, then by raw_row_hash (arbitrary but the same on every run).
    select
        *,
        row_number() over (
            partition by session_id
            order by started_at asc, _source_file desc, raw_row_hash asc
        ) as session_id_rank
    from checked
    where
        row_defect is null
        and session_id in (select repeated_ids.session_id from repeated_ids)

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
        session_id,
        visitor_id,
        customer_id,
        email,
        order_id,

        -- attributes
        device,
        channel,

        -- counts and amounts
        page_views,
        cart_adds,
        cart_value,

        -- timestamps
        started_at,
        ended_at_or_null,

        -- checks
        row_defect,
        session_id_rank,
        case
            when row_defect is not null then row_defect
            when session_id_rank > 1 then 'duplicate_session_id'
        end as quarantine_reason,

        -- when this run processed the row
        {{ run_loaded_at() }} as loaded_at

    from ranked

)

select * from final
