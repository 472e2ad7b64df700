{{ config(materialized='landed', dataset='email_events') }}
-- Every raw email event row, typed, with the first contract rule it breaks (NULL = usable): landed batch by
-- batch (macros/landed.sql). Raw text is kept only for the rows with a defect, which the quarantine shows.
with

source as (

    select * from {{ source('shop', 'email_events') }}

),

typed as {{ materialized_cte() }} (

    select
        -- lineage
        _source_file,

        -- raw text
        event_id as raw_event_id,
        email as raw_email,
        campaign_id as raw_campaign_id,
        event_type as raw_event_type,
        occurred_at as raw_occurred_at,

        -- typed
        {{ in_byte_order("nullif(trim(event_id), '')") }} as event_id,
        {{ in_byte_order(normalize_email('email')) }} as email,
        {{ in_byte_order("nullif(trim(campaign_id), '')") }} as campaign_id,
        {{ in_byte_order(normalize_enum('event_type')) }} as event_type,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at

    from source

),

checked as {{ materialized_cte() }} (

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
        ] + timestamp_checks('raw_occurred_at', 'occurred_at', 'occurred_at')) }} as row_defect
    from typed

),

final as (

    select
        -- lineage
        _source_file,
        {{ run_loaded_at() }} as _loaded_at,

        -- typed
        event_id,
        email,
        campaign_id,
        event_type,
        occurred_at,

        -- checks
        row_defect,
        -- the record's text, for a CSV record the reader could not split into the header's fields
        cast(null as {{ dbt.type_string() }}) as raw_record,
        {{ raw_text_of_rows_with_defect(['event_id', 'email', 'campaign_id', 'event_type', 'occurred_at']) }}

    from checked

)

select * from final
