{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dedup_key',
        on_schema_change='fail',
    )
}}
-- Every raw order row, typed, with the reason it cannot be used (NULL = usable).
-- stg_shop__orders keeps the usable rows, quarantine_shop__orders the rest.
with

source as (

    select * from {{ source('shop', 'orders') }}

),

fingerprinted as (

    select
        *,
        {{ raw_row_fingerprint([
            'order_id',
            'customer_id',
            'email',
            'ordered_at',
            'status',
            'amount',
        ]) }} as raw_row_hash
    from source

),

keyed as (

    select
        *,
        {{ dedup_key('order_id') }} as dedup_key
    from fingerprinted

),

-- Full build: every raw row. Incremental run: every raw row of the ids that changed (macros/incremental.sql).
in_scope as (

    {{ rows_to_process('keyed', 'ordered_at') }}

),

typed as (

    select
        -- incremental bookkeeping
        dedup_key,
        raw_row_hash,

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

checked as (

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

ranked as (

    -- Contract: among usable rows with one order_id the latest ordered_at wins (a later export carries the
    -- newer status); the raw values break remaining ties so every run keeps the same row.
    select
        *,
        row_number() over (
            partition by order_id, row_defect
            order by
                ordered_at desc nulls last,
                raw_status asc nulls last,
                raw_amount asc nulls last,
                raw_email asc nulls last,
                raw_customer_id asc nulls last,
                raw_ordered_at asc nulls last
        ) as order_id_rank
    from checked

),

final as (

    select
        *,
        case
            when row_defect is not null then row_defect
            when order_id_rank > 1 then 'duplicate_order_id'
        end as quarantine_reason,

        -- when this run processed the row
        {{ run_loaded_at() }} as loaded_at
    from ranked

)

select * from final
