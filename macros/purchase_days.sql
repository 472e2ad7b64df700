{#- The purchase days of the orders in `orders` (a CTE or relation with email, order_date, amount and
    is_purchase): one row per person (email) and day with a completed order, numbered per person, with the
    purchase day before. Shared by int_customers__purchase_days (every person) and int_customers__order_summary
    (on an incremental run only the persons it re-derives: DuckDB does not push a filter on the persons
    through the window, so the orders must be narrowed before it). -#}
{% macro numbered_purchase_days(orders) -%}
    select
        email,
        purchase_date,
        purchases,
        purchase_amount,
        row_number() over (
            partition by email order by purchase_date asc nulls last
        ) as purchase_day_number,
        lag(purchase_date) over (
            partition by email order by purchase_date asc nulls last
        ) as previous_purchase_date
    from (
        select
            email,
            order_date as purchase_date,
            count(*) as purchases,
            sum(amount) as purchase_amount
        from {{ orders }}
        where is_purchase
        group by email, order_date
    ) as daily
{%- endmacro %}
