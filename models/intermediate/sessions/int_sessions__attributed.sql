-- Sessions up to the as-of date with the person they count for: the session's own email, else the person its
-- customer_id is linked to, else the person its visitor_id was identified as (stitched).
-- Readers that aggregate per person group by person_email, so the customer_key hash is not computed for every
-- session. A table: the session summary, engagement and carts all read it.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

sessions as (

    select * from {{ ref('stg_shop__sessions') }}

),

-- The links by key alone: carrying the emails of ~10M visitors through the join of ~30M sessions ran out of the
-- 4 GB memory cap at 10M orders; the email of a linked person is looked up once per session below.
customer_ids as (

    select
        customer_id,
        customer_key
    from {{ ref('int_customer_ids__linked') }}

),

visitors as (

    select
        visitor_id,
        customer_key
    from {{ ref('int_visitors__linked') }}

),

persons as (

    select
        customer_key,
        email
    from {{ ref('int_persons__identified') }}

),

sessions_in_window as (

    select sessions.*
    from sessions
    cross join as_of
    where sessions.started_at < as_of.as_of_end_at

),

linked as (

    select
        sessions_in_window.*,
        case
            when sessions_in_window.email is not null then {{ person_key('sessions_in_window.email') }}
            when customer_ids.customer_key is not null then customer_ids.customer_key
            else visitors.customer_key
        end as customer_key,
        case
            when sessions_in_window.email is not null then 'email'
            when customer_ids.customer_key is not null then 'customer_id'
            when visitors.customer_key is not null then 'visitor_id'
        end as attributed_by
    from sessions_in_window
    left join customer_ids
        on sessions_in_window.customer_id = customer_ids.customer_id
    left join visitors
        on sessions_in_window.visitor_id = visitors.visitor_id

),

attributed as (

    select
        linked.*,
        coalesce(linked.email, persons.email) as person_email
    from linked
    left join persons
        on linked.email is null and linked.customer_key = persons.customer_key

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
