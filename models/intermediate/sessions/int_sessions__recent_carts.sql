-- Recent carts: sessions with cart_adds > 0 and no order that ended within cart_reminder_max_hours before the
-- end of the as-of date — the only carts that can still be open or due a reminder, so a nightly run joins a
-- few thousand sessions with purchases instead of every cart ever. Abandoned or not, still open, and whether
-- the session ended inside the reminder window.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

sessions as (

    select
        sessions.session_id,
        sessions.customer_key,
        sessions.person_email,
        sessions.cart_adds,
        sessions.cart_value,
        sessions.started_at,
        sessions.ended_at
    from {{ ref('int_sessions__attributed') }} as sessions
    cross join as_of
    where
        sessions.cart_adds > 0
        and sessions.order_id is null
        and sessions.ended_at
        >= {{ dbt.dateadd('hour', -1 * var('cart_reminder_max_hours'), 'as_of.as_of_end_at') }}

),

purchases as (

    select
        email,
        ordered_at
    from {{ ref('int_orders__attributed') }}
    where is_purchase

),

-- Purchases by the same person from the session's start on (matched on the person's email, so no hashing).
-- bought_soon: one of them within cart_abandon_hours after the session's end.
cart_purchases as (

    select
        sessions.session_id,
        max(
            case
                when
                    purchases.ordered_at
                    <= {{ dbt.dateadd('hour', var('cart_abandon_hours'), 'sessions.ended_at') }}
                    then 1
                else 0
            end
        ) as bought_soon
    from sessions
    inner join purchases
        on sessions.person_email = purchases.email
    where purchases.ordered_at >= sessions.started_at
    group by sessions.session_id

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
        coalesce(cart_purchases.bought_soon, 0) = 0 as is_abandoned,
        cart_purchases.session_id is null as is_unbought,
        (
            sessions.ended_at
            <= {{ dbt.dateadd('hour', -1 * var('cart_reminder_min_hours'), 'as_of.as_of_end_at') }}
        ) as is_past_min_hours
    from sessions
    cross join as_of
    left join cart_purchases
        on sessions.session_id = cart_purchases.session_id

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
        is_abandoned and is_unbought as is_open,
        is_abandoned and is_unbought and is_past_min_hours as is_in_reminder_window,

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
