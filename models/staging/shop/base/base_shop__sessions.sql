{{ config(materialized='landed', dataset='sessions') }}
-- Every raw session row, typed, with the first contract rule it breaks (NULL = usable): landed batch by batch
-- (macros/landed.sql). Raw text is kept only for the rows with a defect, which the quarantine shows.
{%- set raw_columns = [
    'session_id', 'visitor_id', 'customer_id', 'email', 'started_at', 'ended_at',
    'device', 'channel', 'page_views', 'cart_adds', 'cart_value', 'order_id',
] %}
with

source as (

    select * from {{ source('shop', 'sessions') }}

),

typed as {{ materialized_cte() }} (

    select
        -- lineage
        _source_file,

        -- raw text
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

        -- typed
        {{ in_byte_order("nullif(trim(session_id), '')") }} as session_id,
        {{ in_byte_order("nullif(trim(visitor_id), '')") }} as visitor_id,
        {{ in_byte_order("nullif(trim(customer_id), '')") }} as customer_id,
        {{ in_byte_order(normalize_email('email')) }} as email,
        {{ in_byte_order("nullif(trim(order_id), '')") }} as order_id,
        {{ in_byte_order('coalesce(' ~ normalize_enum('device') ~ ", 'unknown')") }} as device,
        {{ in_byte_order('coalesce(' ~ normalize_enum('channel') ~ ", 'unknown')") }} as channel,
        {{ safe_try_cast_integer('page_views') }} as page_views,
        {{ safe_try_cast_integer('cart_adds') }} as cart_adds,
        {{ safe_try_cast('trim(cart_value)', type_amount()) }} as cart_value,
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('ended_at') }} as ended_at_or_null

    from source

),

checked as {{ materialized_cte() }} (

    select
        *,
        {{ first_failing_check([
            ('session_id is null', 'missing_session_id'),
            ('visitor_id is null', 'missing_visitor_id'),
            ('email is not null and not ' ~ is_valid_email('email'), 'invalid_email'),
            ('started_at is null', 'invalid_started_at'),
        ] + timestamp_checks('raw_started_at', 'started_at', 'started_at')
          + timestamp_checks('raw_ended_at', 'ended_at_or_null', 'ended_at') + [
            ('page_views is null or not ' ~ is_plain_number('raw_page_views'), 'invalid_page_views'),
            ('page_views < 0', 'negative_page_views'),
            ('cart_adds is null or not ' ~ is_plain_number('raw_cart_adds'), 'invalid_cart_adds'),
            ('cart_adds < 0', 'negative_cart_adds'),
        ] + amount_checks('raw_cart_value', 'cart_value', 'cart_value')) }} as row_defect
    from typed

),

final as (

    select
        -- lineage
        _source_file,
        {{ run_loaded_at() }} as _loaded_at,

        -- typed
        session_id,
        visitor_id,
        customer_id,
        email,
        order_id,
        device,
        channel,
        page_views,
        cart_adds,
        cart_value,
        started_at,
        ended_at_or_null,

        -- checks
        row_defect,
        -- the record's text, for a CSV record the reader could not split into the header's fields
        cast(null as {{ dbt.type_string() }}) as raw_record,
        {{ raw_text_of_rows_with_defect(raw_columns) }}

    from checked

)

select * from final
