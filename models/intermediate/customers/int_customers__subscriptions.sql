-- Newsletter status per known person as of the as-of date, and where they first signed up. A view: only the
-- overlays read it.
{{ config(materialized='view') }}

with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

persons as (

    select * from {{ ref('int_persons__identified') }}

),

signups as (

    select signups.*
    from {{ ref('stg_shop__newsletter_signups') }} as signups
    cross join as_of
    where signups.signed_up_at < as_of.as_of_end_at

),

unsubscribes as (

    select
        signups.email,
        signups.unsubscribed_at
    from signups
    cross join as_of
    where signups.unsubscribed_at < as_of.as_of_end_at

    union all

    select
        events.email,
        events.occurred_at as unsubscribed_at
    from {{ ref('stg_shop__email_events') }} as events
    cross join as_of
    where events.event_type = 'unsubscribe' and events.occurred_at < as_of.as_of_end_at

),

signups_ranked as (

    select
        email,
        signup_source,
        signed_up_at,
        row_number() over (
            partition by email order by signed_up_at asc nulls last, signup_id asc nulls last
        ) as signup_number
    from signups

),

signup_summary as (

    select
        email,
        count(*) as signups,
        min(signed_up_at) as first_signed_up_at,
        max(signed_up_at) as last_signed_up_at,
        max(case when signup_number = 1 then signup_source end) as signup_source
    from signups_ranked
    group by email

),

unsubscribe_summary as (

    select
        email,
        max(unsubscribed_at) as last_unsubscribed_at
    from unsubscribes
    group by email

),

final as (

    select
        -- ids
        persons.customer_key,

        -- attributes
        signup_summary.signup_source,
        coalesce(
            signup_summary.email is not null
            and (
                unsubscribe_summary.last_unsubscribed_at is null
                or unsubscribe_summary.last_unsubscribed_at < signup_summary.last_signed_up_at
            ),
            false
        ) as is_subscribed,

        -- timestamps
        signup_summary.first_signed_up_at,
        signup_summary.last_signed_up_at,
        unsubscribe_summary.last_unsubscribed_at

    from persons
    left join signup_summary
        on persons.email = signup_summary.email
    left join unsubscribe_summary
        on persons.email = unsubscribe_summary.email

)

select * from final
