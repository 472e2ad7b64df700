-- Persons, revenue and rhythm per lifecycle stage; every stage has a row, even when empty.
with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

stages as (

    select
        'prospect' as lifecycle_stage,
        1 as stage_order
    union all
    select
        'new' as lifecycle_stage,
        2 as stage_order
    union all
    select
        'repeat' as lifecycle_stage,
        3 as stage_order
    union all
    select
        'at_risk' as lifecycle_stage,
        4 as stage_order
    union all
    select
        'lapsed' as lifecycle_stage,
        5 as stage_order

),

per_stage as (

    select
        lifecycle_stage,
        count(*) as persons,
        sum(net_revenue) as net_revenue,
        sum(order_count) as orders,
        -- Averaged as exact decimals: a sum of doubles depends on the order rows arrive in, and re-runs on the
        -- same data must give identical figures.
        avg(cast(expected_interval_days as {{ type_amount() }})) as avg_expected_interval_days
    from lifecycle
    group by lifecycle_stage

),

totals as (

    select count(*) as persons
    from lifecycle

),

final as (

    select
        -- stage
        stages.lifecycle_stage,
        cast(stages.stage_order as {{ dbt.type_int() }}) as stage_order,

        -- persons
        cast(coalesce(per_stage.persons, 0) as {{ dbt.type_bigint() }}) as persons,
        cast(
            case
                when totals.persons > 0
                    then cast(coalesce(per_stage.persons, 0) as {{ type_double() }}) / totals.persons
                else 0
            end as {{ type_double() }}
        ) as share_of_persons,

        -- amounts
        cast(coalesce(per_stage.net_revenue, 0) as {{ type_amount() }}) as net_revenue,
        cast(coalesce(per_stage.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        cast(
            case
                when per_stage.orders > 0 then cast(per_stage.net_revenue as {{ type_double() }}) / per_stage.orders
            end as {{ type_double() }}
        ) as avg_order_value,

        -- rhythm
        cast(per_stage.avg_expected_interval_days as {{ type_double() }}) as avg_expected_interval_days

    from stages
    cross join totals
    left join per_stage
        on stages.lifecycle_stage = per_stage.lifecycle_stage

)

select * from final
