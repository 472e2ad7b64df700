-- One row per account id (customer_id) seen with an email on an order or session up to the as-of date, linked
-- to the person of the earliest such sighting (on a tie in time, the alphabetically first email).
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

sessions as (

    select * from {{ ref('stg_shop__sessions') }}

),

sightings as (

    select
        orders.customer_id,
        orders.email,
        orders.ordered_at as seen_at
    from orders
    cross join as_of
    where orders.customer_id is not null and orders.ordered_at < as_of.as_of_end_at

    union all

    select
        sessions.customer_id,
        sessions.email,
        sessions.started_at as seen_at
    from sessions
    cross join as_of
    where
        sessions.customer_id is not null
        and sessions.email is not null
        and sessions.started_at < as_of.as_of_end_at

),

first_sightings as (

    {{ first_by('sightings', 'customer_id', ['seen_at', 'email']) }}

),

final as (

    select
        -- ids
        customer_id,
        {{ person_key('email') }} as customer_key,
        email,

        -- timestamps
        seen_at as first_seen_at

    from first_sightings

)

select * from final
