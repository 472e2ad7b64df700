-- One row per person and purchase day (calendar date, UTC, with at least one completed order), numbered per
-- person, with the purchase day before. Computed once: the order summary and the gaps read it.
with

orders as (

    select * from {{ ref('int_orders__attributed') }}

),

daily as (

    select
        email,
        order_date as purchase_date,
        count(*) as purchases,
        sum(amount) as purchase_amount
    from orders
    where is_purchase
    group by email, order_date

),

numbered as (

    select
        *,
        row_number() over (
            partition by email order by purchase_date asc nulls last
        ) as purchase_day_number,
        lag(purchase_date) over (
            partition by email order by purchase_date asc nulls last
        ) as previous_purchase_date
    from daily

),

final as (

    select
        -- ids
        {{ person_key('email') }} as customer_key,
        email,
        purchase_day_number,

        -- counts and amounts
        purchases,
        purchase_amount,

        -- dates
        purchase_date,
        previous_purchase_date

    from numbered

)

select * from final
