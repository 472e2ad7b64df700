-- Sessions up to the as-of date with the person they count for: the session's own email, else the owner
-- of its customer_id, else the person its visitor_id was later identified as (stitched).
-- Readers that aggregate per person group by person_email, so the customer_key hash is not computed for millions
-- of sessions. A table, not a view: as a view, its tests re-ran the attribution joins and ran out of memory
-- (4 GB cap) at 10M orders.
{{ config(materialized='table') }}

with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

sessions as (

    select sessions.*
    from {{ ref('stg_shop__sessions') }} as sessions
    cross join as_of
    where sessions.started_at < as_of.as_of_end_at

),

identity as (

    select * from {{ ref('int_customers__identity') }}

),

customer_id_owners as (

    select
        identifier_value as customer_id,
        customer_key,
        email
    from identity
    where identifier_type = 'customer_id'

),

visitor_owners as (

    select
        identifier_value as visitor_id,
        customer_key,
        email
    from identity
    where identifier_type = 'visitor_id'

),

attributed as (

    select
        sessions.*,
        case
            when sessions.email is not null then {{ dbt.hash('sessions.email') }}
            when customer_id_owners.customer_key is not null then customer_id_owners.customer_key
            else visitor_owners.customer_key
        end as customer_key,
        coalesce(sessions.email, customer_id_owners.email, visitor_owners.email) as person_email,
        case
            when sessions.email is not null then 'email'
            when customer_id_owners.customer_key is not null then 'customer_id'
            when visitor_owners.customer_key is not null then 'visitor_id'
        end as attributed_by
    from sessions
    left join customer_id_owners
        on sessions.customer_id = customer_id_owners.customer_id
    left join visitor_owners
        on sessions.visitor_id = visitor_owners.visitor_id

),

final as (

    select
        -- ids
        session_id,
        customer_key,
        person_email,
        visitor_id,
        customer_id,
        order_id,

        -- attribution
        attributed_by,
        coalesce(attributed_by = 'visitor_id', false) as is_stitched,

        -- attributes
        device,
        channel,

        -- counts and amounts
        page_views,
        cart_adds,
        cart_value,

        -- timestamps
        started_at,
        ended_at

    from attributed

)

select * from final
