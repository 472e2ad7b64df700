{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dedup_key',
        on_schema_change='fail',
    )
}}
{%- set raw_columns = ['order_id', 'customer_id', 'email', 'ordered_at', 'status', 'amount'] %}
-- Every raw order row, typed, with the reason it cannot be used (NULL = usable).
-- stg_shop__orders keeps the usable rows, quarantine_shop__orders the rest.
with

-- Inlined: read twice (typing and repeated_ids); a stored copy of every raw row costs more than a second scan.
source as {{ cte_storage(false) }} (

    select * from {{ source('shop', 'orders') }}

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
        {{ dedup_key('order_id') }} as dedup_key
    from fingerprinted

),

-- Full build: every raw row. Incremental run: every raw row of the ids that changed (macros/incremental.sql),
-- stored once: it is small, costly to find and used twice.
in_scope as {{ cte_storage(is_incremental()) }} (

    {{ rows_to_process('keyed', 'orders', raw_columns) }}

),

typed as (

    select
        -- incremental bookkeeping
        dedup_key,
        raw_row_hash,
        _source_file,

        -- raw text, kept for the quarantine
        order_id as raw_order_id,
        customer_id as raw_customer_id,
        email as raw_email,
        ordered_at as raw_ordered_at,
        status as raw_status,
        amount as raw_amount,

        -- ids
        nullif(trim(order_id), '') as order_id,
        nullif(trim(customer_id), '') as customer_id,
        {{ normalize_email('email') }} as email,

        -- attributes
        {{ normalize_enum('status') }} as status,
        {{ safe_try_cast('trim(amount)', dbt.type_numeric()) }} as amount,

        -- timestamps
        {{ to_utc_timestamp('ordered_at') }} as ordered_at

    from in_scope

),

-- Inlined: used twice below, and storing this wide CTE once costs as much as the ranking itself.
checked as {{ cte_storage(false) }} (

    select
        *,
        {{ first_failing_check([
            ('order_id is null', 'missing_order_id'),
            ('email is null', 'missing_email'),
            ('not ' ~ is_valid_email('email'), 'invalid_email'),
            ('ordered_at is null', 'invalid_ordered_at'),
            ('ordered_at > ' ~ future_cutoff(), 'future_ordered_at'),
            ("status is null or status not in ('completed', 'returned', 'cancelled')", 'invalid_status'),
            ('amount is null', 'invalid_amount'),
            ('amount < 0', 'negative_amount'),
        ]) }} as row_defect
    from typed

),

-- Ids with more than one raw row: only these need ranking (reads one column).
repeated_ids as (

    select nullif(trim(order_id), '') as order_id
    from in_scope
    where nullif(trim(order_id), '') is not null
    group by nullif(trim(order_id), '')
    having count(*) > 1

),

ranked as (

    -- A row with a defect is quarantined for it, and an id seen once is its own winner: no ranking.
    select
        *,
        1 as order_id_rank
    from checked
    where
        row_defect is not null
        or not exists (
            select 1 from repeated_ids
            where repeated_ids.order_id = checked.order_id
        )

    union all

    -- Contract: a repeated order_id keeps its usable row with the latest ordered_at (a later export carries the
    -- newer status); equal timestamps are decided by the file (a later file supersedes an earlier one), then
    -- by raw_row_hash (arbitrary but the same on every run).
    select
        *,
        row_number() over (
            partition by order_id
            order by ordered_at desc, _source_file desc, raw_row_hash asc
        ) as order_id_rank
    from checked
    where
        row_defect is null
        and order_id in (select repeated_ids.order_id from repeated_ids)

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
        order_id,
        customer_id,
        email,

        -- attributes
        status,
        amount,

        -- timestamps
        ordered_at,

        -- checks
        row_defect,
        order_id_rank,
        case
            when row_defect is not null then row_defect
            when order_id_rank > 1 then 'duplicate_order_id'
        end as quarantine_reason,

        -- when this run processed the row
        {{ run_loaded_at() }} as loaded_at

    from ranked

)

select * from final
