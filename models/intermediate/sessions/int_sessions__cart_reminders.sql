-- Carts whose reminder is due: abandoned, unbought, ended in the reminder window before the end of the
-- as-of date, and the person is subscribed and not archived. A view: two marts read its few rows.
{{ config(materialized='view') }}

with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

carts as (

    select * from {{ ref('int_sessions__recent_carts') }}
    where is_in_reminder_window

),

overlays as (

    select * from {{ ref('int_customers__overlays') }}
    where is_subscribed and not is_archived

),

persons as (

    select * from {{ ref('int_persons__identified') }}

),

final as (

    select
        -- ids
        carts.session_id,
        carts.customer_key,
        persons.email,

        -- amounts
        carts.cart_adds,
        carts.cart_value,

        -- timestamps
        carts.started_at as session_started_at,
        carts.ended_at as session_ended_at,
        carts.hours_before_as_of_end,
        as_of.as_of_date

    from carts
    cross join as_of
    inner join overlays
        on carts.customer_key = overlays.customer_key
    inner join persons
        on carts.customer_key = persons.customer_key

)

select * from final
