{{ config(materialized='landed', dataset='newsletter_signups') }}
-- Every raw signup row, typed, with the first contract rule it breaks (NULL = usable): landed batch by batch
-- (macros/landed.sql). Raw text is kept only for the rows with a defect, which the quarantine shows.
with

source as (

    select * from {{ source('shop', 'newsletter_signups') }}

),

typed as {{ materialized_cte() }} (

    select
        -- lineage
        _source_file,

        -- raw text
        signup_id as raw_signup_id,
        email as raw_email,
        signed_up_at as raw_signed_up_at,
        source as raw_source,
        unsubscribed_at as raw_unsubscribed_at,

        -- typed
        {{ in_byte_order("nullif(trim(signup_id), '')") }} as signup_id,
        {{ in_byte_order(normalize_email('email')) }} as email,
        {{ in_byte_order('coalesce(' ~ normalize_enum('source') ~ ", 'unknown')") }} as signup_source,
        {{ to_utc_timestamp('signed_up_at') }} as signed_up_at,
        {{ to_utc_timestamp('unsubscribed_at') }} as unsubscribed_at

    from source

),

checked as {{ materialized_cte() }} (

    select
        *,
        {{ first_failing_check([
            ('signup_id is null', 'missing_signup_id'),
            ('email is null', 'missing_email'),
            ('not ' ~ is_valid_email('email'), 'invalid_email'),
            ('signed_up_at is null', 'invalid_signed_up_at'),
        ] + timestamp_checks('raw_signed_up_at', 'signed_up_at', 'signed_up_at')
          + timestamp_checks('raw_unsubscribed_at', 'unsubscribed_at', 'unsubscribed_at')) }} as row_defect
    from typed

),

final as (

    select
        -- lineage
        _source_file,
        {{ run_loaded_at() }} as _loaded_at,

        -- typed
        signup_id,
        email,
        signup_source,
        signed_up_at,
        unsubscribed_at,

        -- checks
        row_defect,
        -- the record's text, for a CSV record the reader could not split into the header's fields
        cast(null as {{ dbt.type_string() }}) as raw_record,
        {{ raw_text_of_rows_with_defect(['signup_id', 'email', 'signed_up_at', 'source', 'unsubscribed_at']) }}

    from checked

)

select * from final
