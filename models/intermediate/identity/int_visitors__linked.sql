-- One row per visitor id (cookie/device) seen in an identified session up to the as-of date, linked to the
-- person of its earliest identified session (on a tie in time, the alphabetically first email). A session is
-- identified by its own email, else by the person its customer_id is linked to.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

sessions as (

    select * from {{ ref('stg_shop__sessions') }}

),

customer_ids as (

    select * from {{ ref('int_customer_ids__linked') }}

),

identified_sessions as (

    select
        sessions.visitor_id,
        sessions.started_at,
        coalesce(sessions.email, customer_ids.email) as email
    from sessions
    cross join as_of
    left join customer_ids
        on sessions.customer_id = customer_ids.customer_id
    where
        sessions.started_at < as_of.as_of_end_at
        and coalesce(sessions.email, customer_ids.email) is not null

),

first_sightings as (

    {{ first_by('identified_sessions', 'visitor_id', ['started_at', 'email']) }}

),

final as (

    select
        -- ids
        visitor_id,
        {{ person_key('email') }} as customer_key,
        email,

        -- timestamps
        started_at as first_seen_at

    from first_sightings

)

select * from final
