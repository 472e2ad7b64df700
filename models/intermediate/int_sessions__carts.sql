-- Carts (sessions with cart_adds > 0 and no order) up to the as-of date: abandoned or not, still open,
-- and whether the session ended inside the reminder window before the end of the as-of date.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

sessions as (

    select * from {{ ref('int_sessions__attributed') }}
    where cart_adds > 0 and order_id is null

),

purchases as (

    select * from {{ ref('int_orders__attributed') }}
    where is_purchase

),

-- A purchase by the same person from the session's start up to cart_abandon_hours after its end.
bought_soon as (

    select distinct sessions.session_id
    from sessions
    inner join purchases
        on sessions.customer_key = purchases.customer_key
    where
        purchases.ordered_at >= sessions.started_at
        and purchases.ordered_at
        <= {{ dbt.dateadd('hour', var('cart_abandon_hours'), 'sessions.ended_at') }}

),

bought_since as (

    select distinct sessions.session_id
    from sessions
    inner join purchases
        on sessions.customer_key = purchases.customer_key
    where purchases.ordered_at >= sessions.started_at

),

flagged as (

    select
        sessions.session_id,
        sessions.customer_key,
        sessions.cart_adds,
        sessions.cart_value,
        sessions.started_at,
        sessions.ended_at,
        as_of.as_of_end_at,
        bought_soon.session_id is null as is_abandoned,
        bought_since.session_id is null as is_unbought,
        (
            sessions.ended_at
            >= {{ dbt.dateadd('hour', -1 * var('cart_reminder_max_hours'), 'as_of.as_of_end_at') }}
        ) as is_within_max_hours,
        (
            sessions.ended_at
            <= {{ dbt.dateadd('hour', -1 * var('cart_reminder_min_hours'), 'as_of.as_of_end_at') }}
        ) as is_past_min_hours
    from sessions
    cross join as_of
    left join bought_soon
        on sessions.session_id = bought_soon.session_id
    left join bought_since
        on sessions.session_id = bought_since.session_id

),

final as (

    select
        -- ids
        session_id,
        customer_key,

        -- amounts
        cart_adds,
        cart_value,

        -- flags
        is_abandoned,
        is_abandoned and is_unbought and is_within_max_hours as is_open,
        is_abandoned and is_unbought and is_within_max_hours and is_past_min_hours as is_in_reminder_window,

        -- timestamps
        started_at,
        ended_at,
        cast(
            {{ dbt.datediff('ended_at', 'as_of_end_at', 'second') }}
            as {{ type_double() }}
        ) / 3600 as hours_before_as_of_end

    from flagged

)

select * from final
