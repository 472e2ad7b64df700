{{ config(materialized='landed', dataset='orders') }}
-- Every raw order row, typed, with the first contract rule it breaks (NULL = usable): landed batch by batch
-- (macros/landed.sql). Raw text is kept only for the rows with a defect, which the quarantine shows.
with

source as (

    select * from {{ source('shop', 'orders') }}

),

typed as {{ materialized_cte() }} (

    select
        -- lineage
        _source_file,

        -- raw text
        order_id as raw_order_id,
        customer_id as raw_customer_id,
        email as raw_email,
        ordered_at as raw_ordered_at,
        status as raw_status,
        amount as raw_amount,

        -- typed
        {{ in_byte_order("nullif(trim(order_id), '')") }} as order_id,
        {{ in_byte_order("nullif(trim(customer_id), '')") }} as customer_id,
        {{ in_byte_order(normalize_email('email')) }} as email,
        {{ in_byte_order(normalize_enum('status')) }} as status,
        {{ safe_try_cast('trim(amount)', type_amount()) }} as amount,
        {{ to_utc_timestamp('ordered_at') }} as ordered_at

    from source

),

checked as {{ materialized_cte() }} (

    select
        *,
        {{ first_failing_check([
            ('order_id is null', 'missing_order_id'),
            ('email is null', 'missing_email'),
            ('not ' ~ is_valid_email('email'), 'invalid_email'),
            ('ordered_at is null', 'invalid_ordered_at'),
        ] + timestamp_checks('raw_ordered_at', 'ordered_at', 'ordered_at') + [
            ("status is null or status not in ('completed', 'returned', 'cancelled')", 'invalid_status'),
            ("nullif(trim(raw_amount), '') is null", 'invalid_amount'),
        ] + amount_checks('raw_amount', 'amount', 'amount')) }} as row_defect
    from typed

),

final as (

    select
        -- lineage
        _source_file,
        {{ run_loaded_at() }} as _loaded_at,

        -- typed
        order_id,
        customer_id,
        email,
        status,
        amount,
        ordered_at,

        -- checks
        row_defect,
        -- the record's text, for a CSV record the reader could not split into the header's fields
        cast(null as {{ dbt.type_string() }}) as raw_record,
        {{ raw_text_of_rows_with_defect(['order_id', 'customer_id', 'email', 'ordered_at', 'status', 'amount']) }}

    from checked

)

select * from final
