-- Identity map: every email, customer_id and visitor_id seen up to the as-of date, each linked to one
-- person (normalised email). Where an id points at several emails the earliest-seen email wins.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

orders as (

    select orders.*
    from {{ ref('stg_shop__orders') }} as orders
    cross join as_of
    where orders.ordered_at < as_of.as_of_end_at

),

sessions as (

    select sessions.*
    from {{ ref('stg_shop__sessions') }} as sessions
    cross join as_of
    where sessions.started_at < as_of.as_of_end_at

),

signups as (

    select signups.*
    from {{ ref('stg_shop__newsletter_signups') }} as signups
    cross join as_of
    where signups.signed_up_at < as_of.as_of_end_at

),

email_sightings as (

    select
        email,
        ordered_at as seen_at
    from orders

    union all

    select
        email,
        started_at as seen_at
    from sessions
    where email is not null

    union all

    select
        email,
        signed_up_at as seen_at
    from signups

),

persons as (

    select
        email,
        min(seen_at) as first_seen_at
    from email_sightings
    group by email

),

customer_id_sightings as (

    select
        customer_id,
        email,
        ordered_at as seen_at
    from orders
    where customer_id is not null

    union all

    select
        customer_id,
        email,
        started_at as seen_at
    from sessions
    where customer_id is not null and email is not null

),

customer_id_first_seen as (

    select
        customer_id,
        min(seen_at) as first_seen_at
    from customer_id_sightings
    group by customer_id

),

-- The owner is the email of the earliest sighting (alphabetically first on a tie): two aggregates and a join
-- instead of a row_number() window, which sorts every sighting.
customer_id_owners as (

    select
        sightings.customer_id,
        min(sightings.email) as email,
        first_seen.first_seen_at
    from customer_id_sightings as sightings
    inner join customer_id_first_seen as first_seen
        on
            sightings.customer_id = first_seen.customer_id
            and sightings.seen_at = first_seen.first_seen_at
    group by sightings.customer_id, first_seen.first_seen_at

),

-- A session is identified by its own email, else by the owner of its customer_id.
identified_sessions as (

    select
        sessions.visitor_id,
        sessions.started_at,
        coalesce(sessions.email, customer_id_owners.email) as email
    from sessions
    left join customer_id_owners
        on sessions.customer_id = customer_id_owners.customer_id
    where coalesce(sessions.email, customer_id_owners.email) is not null

),

visitor_first_identified as (

    select
        visitor_id,
        min(started_at) as first_identified_at
    from identified_sessions
    group by visitor_id

),

-- Same rule as for customer ids: the person of the earliest identified session.
visitor_owners as (

    select
        identified_sessions.visitor_id,
        min(identified_sessions.email) as email,
        first_identified.first_identified_at
    from identified_sessions
    inner join visitor_first_identified as first_identified
        on
            identified_sessions.visitor_id = first_identified.visitor_id
            and identified_sessions.started_at = first_identified.first_identified_at
    group by identified_sessions.visitor_id, first_identified.first_identified_at

),

identifiers as (

    select
        'email' as identifier_type,
        email as identifier_value,
        email,
        first_seen_at
    from persons

    union all

    select
        'customer_id' as identifier_type,
        customer_id as identifier_value,
        email,
        first_seen_at
    from customer_id_owners

    union all

    select
        'visitor_id' as identifier_type,
        visitor_id as identifier_value,
        email,
        first_identified_at as first_seen_at
    from visitor_owners

),

final as (

    select
        -- ids
        {{ dbt.hash('email') }} as customer_key,
        identifier_type,
        identifier_value,
        email,

        -- timestamps
        first_seen_at

    from identifiers

)

select * from final
