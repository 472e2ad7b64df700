-- Carts whose reminder is due today, with the address to send it to.
with

reminders as (

    select * from {{ ref('int_sessions__cart_reminders') }}

),

final as (

    select
        -- ids
        session_id,
        customer_key,
        email,

        -- amounts
        cart_adds,
        cast(cart_value as {{ type_amount() }}) as cart_value,

        -- timestamps
        session_started_at,
        session_ended_at,
        cast(hours_before_as_of_end as {{ type_double() }}) as hours_since_session_end,
        as_of_date

    from reminders

)

select * from final
