{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='email',
        on_schema_change='fail',
        post_hook="delete from {{ this }} where valid_orders = 0",
    )
}}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('int_lifecycle__as_of_date') }}
-- Order aggregates per person (email) that do not depend on the as-of date beyond which orders it admits:
-- counts, revenue, purchase days and the intervals between them. int_customers__order_facts adds the
-- population median and the as-of arithmetic in a cheap pass over this table.
-- Incremental (README "Incremental refresh and history"): a run re-derives only the persons whose orders can
-- have changed, each from all of their orders, and deletes the persons left without an order.
with

orders as (

    select * from {{ ref('int_orders__attributed') }}

),

{% if is_incremental() %}

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

stored as (

    select * from {{ this }}

),

-- One row; NULLs when nothing is stored yet.
stored_bounds as (

    select
        max(loaded_at) as latest_loaded_at,
        max(last_ordered_at) as latest_ordered_at
    from stored

),

-- Persons to re-derive: any order row of theirs staged after the stored rows were written (new, late, edited
-- or re-derived rows, and rows that became quarantined, e.g. a duplicate that now loses) ...
restaged_emails as (

    select base_orders.email
    from {{ ref('base_shop__orders') }} as base_orders
    cross join stored_bounds
    where base_orders.loaded_at > stored_bounds.latest_loaded_at

),

-- ... an order later than every stored one (inside the window since the as-of date moved forward: no stored
-- order is later than latest_ordered_at, so none is missed) ...
newly_admitted_emails as (

    select orders.email
    from orders
    cross join stored_bounds
    where orders.ordered_at > stored_bounds.latest_ordered_at

),

-- ... or a stored order on or after the as-of end (the as-of date moved back).
no_longer_admitted_emails as (

    select stored.email
    from stored
    cross join as_of
    where stored.last_ordered_at >= as_of.as_of_end_at

),

candidate_emails as (

    select email from restaged_emails
    where email is not null
    union
    select email from newly_admitted_emails
    union
    select email from no_longer_admitted_emails

),

-- Every other person can only have lost orders: an order whose email was edited in place leaves no row under
-- its old email. Their stored order count then exceeds the current one, and this run re-derives everyone.
other_persons_order_counts as (

    select
        (
            select coalesce(sum(stored.valid_orders), 0)
            from stored
            where stored.email not in (select candidate_emails.email from candidate_emails)
        ) as stored_orders,
        (
            select count(*)
            from orders
            where orders.email not in (select candidate_emails.email from candidate_emails)
        ) as current_orders

),

{% endif %}

-- The orders of the persons to re-derive: of every person on a full build.
orders_to_derive as (

    select orders.*
    from orders
    {% if is_incremental() -%}
        cross join other_persons_order_counts
        where
            other_persons_order_counts.stored_orders != other_persons_order_counts.current_orders
            or orders.email in (select candidate_emails.email from candidate_emails)
    {%- endif %}

),

purchase_days as (

    {{ numbered_purchase_days('orders_to_derive') }}

),

purchase_gaps as (

    select
        email,
        purchase_day_number,
        {{ dbt.datediff('previous_purchase_date', 'purchase_date', 'day') }}
            as gap_days
    from purchase_days
    where previous_purchase_date is not null

),

order_summary as (

    select
        email,
        count(*) as valid_orders,
        sum(case when is_purchase then 1 else 0 end) as order_count,
        sum(case when is_returned_or_cancelled then 1 else 0 end) as returned_or_cancelled_orders,
        sum(purchase_amount) as net_revenue,
        max(ordered_at) as last_ordered_at
    from orders_to_derive
    group by email

),

day_summary as (

    select
        email,
        min(purchase_date) as first_order_date,
        max(purchase_date) as last_order_date,
        count(*) as purchase_days,
        avg(case when purchase_day_number > 1 then purchase_amount end) as avg_repeat_order_value
    from purchase_days
    group by email

),

gap_summary as (

    select
        email,
        avg(cast(gap_days as {{ type_double() }})) as avg_interval_days,
        percentile_cont(0.5) within group (order by gap_days) as median_interval_days,
        -- Population standard deviation from exact integer sums (n·Σx² − (Σx)²) / n², so that re-runs give
        -- identical values whatever order the rows are aggregated in.
        sqrt(
            cast(count(*) * sum(gap_days * gap_days) - sum(gap_days) * sum(gap_days) as {{ type_double() }})
            / (count(*) * count(*))
        ) as stddev_interval_days,
        -- for the population median of int_customers__order_facts
        max(case when purchase_day_number = 2 then gap_days end) as first_gap_days
    from purchase_gaps
    group by email

),

derived as (

    select
        order_summary.email,
        order_summary.valid_orders,
        order_summary.order_count,
        order_summary.returned_or_cancelled_orders,
        order_summary.net_revenue,
        order_summary.last_ordered_at,
        day_summary.purchase_days,
        day_summary.first_order_date,
        day_summary.last_order_date,
        day_summary.avg_repeat_order_value,
        gap_summary.avg_interval_days,
        gap_summary.median_interval_days,
        gap_summary.stddev_interval_days,
        gap_summary.first_gap_days
    from order_summary
    left join day_summary
        on order_summary.email = day_summary.email
    left join gap_summary
        on order_summary.email = gap_summary.email

    {% if is_incremental() %}

        -- Persons re-derived without an order left: a row with valid_orders = 0 replaces the stored one and the
        -- post-hook deletes it.
        union all

        select
            rederived_emails.email,
            0 as valid_orders,
            null as order_count,
            null as returned_or_cancelled_orders,
            null as net_revenue,
            null as last_ordered_at,
            null as purchase_days,
            null as first_order_date,
            null as last_order_date,
            null as avg_repeat_order_value,
            null as avg_interval_days,
            null as median_interval_days,
            null as stddev_interval_days,
            null as first_gap_days
        from (
            select candidate_emails.email from candidate_emails
            union
            select stored.email
            from stored
            cross join other_persons_order_counts
            where other_persons_order_counts.stored_orders != other_persons_order_counts.current_orders
        ) as rederived_emails
        where rederived_emails.email not in (select order_summary.email from order_summary)

    {% endif %}

),

final as (

    select
        -- ids
        email,
        -- derived here, once per re-derived person, rather than for every person on every run
        {{ person_key('email') }} as customer_key,

        -- counts
        cast(valid_orders as {{ dbt.type_bigint() }}) as valid_orders,
        cast(order_count as {{ dbt.type_bigint() }}) as order_count,
        cast(returned_or_cancelled_orders as {{ dbt.type_bigint() }}) as returned_or_cancelled_orders,
        cast(purchase_days as {{ dbt.type_bigint() }}) as purchase_days,

        -- amounts
        net_revenue,
        cast(avg_repeat_order_value as {{ type_double() }}) as avg_repeat_order_value,

        -- dates
        first_order_date,
        last_order_date,
        last_ordered_at,

        -- rhythm
        cast(avg_interval_days as {{ type_double() }}) as avg_interval_days,
        cast(median_interval_days as {{ type_double() }}) as median_interval_days,
        cast(stddev_interval_days as {{ type_double() }}) as stddev_interval_days,
        cast(first_gap_days as {{ dbt.type_bigint() }}) as first_gap_days,

        -- when this run derived the row: the next incremental run re-derives persons with orders staged later
        {{ run_loaded_at() }} as loaded_at

    from derived

)

select * from final
