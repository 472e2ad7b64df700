-- Every raw signup row, typed, with the reason it cannot be used (NULL = usable).
with

source as (

    select * from {{ source('shop', 'newsletter_signups') }}

),

typed as (

    select
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

    from source

),

checked as (

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

ranked as (

    -- A repeated signup_id keeps its earliest row; raw values break ties deterministically.
    select
        *,
        row_number() over (
            partition by signup_id, row_defect
            order by
                signed_up_at asc nulls last,
                raw_email asc nulls last,
                raw_source asc nulls last,
                raw_unsubscribed_at asc nulls last,
                raw_signed_up_at asc nulls last
        ) as signup_id_rank
    from checked

),

final as (

    select
        *,
        case
            when row_defect is not null then row_defect
            when signup_id_rank > 1 then 'duplicate_signup_id'
        end as quarantine_reason
    from ranked

)

select * from final
