-- One row per known person (normalised email) seen up to the as-of date on an order, a session or a signup,
-- with the first time they were seen.
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

signups as (

    select * from {{ ref('stg_shop__newsletter_signups') }}

),

sightings as (

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
        sightings.email,
        min(sightings.seen_at) as first_seen_at
    from sightings
    cross join as_of
    where sightings.seen_at < as_of.as_of_end_at
    group by sightings.email

),

final as (

    select
        -- ids
        {{ person_key('email') }} as customer_key,
        email,

        -- timestamps
        first_seen_at

    from persons

)

select * from final
