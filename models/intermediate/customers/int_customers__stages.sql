-- The lifecycle stage of every known person as of the as-of date (exactly one each):
-- prospect (no purchase), lapsed / at_risk (overdue_ratio above lapsed_factor / at_risk_factor), else new (one
-- purchase day) or repeat.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

persons as (

    select * from {{ ref('int_persons__identified') }}

),

order_facts as (

    select * from {{ ref('int_customers__order_facts') }}

),

staged as (

    select
        persons.customer_key,
        persons.first_seen_at,
        case
            when order_facts.purchase_days is null then 'prospect'
            when order_facts.overdue_ratio > {{ var('lapsed_factor') }} then 'lapsed'
            when order_facts.overdue_ratio > {{ var('at_risk_factor') }} then 'at_risk'
            when order_facts.purchase_days = 1 then 'new'
            else 'repeat'
        end as lifecycle_stage
    from persons
    left join order_facts
        on persons.customer_key = order_facts.customer_key

),

final as (

    select
        -- ids
        staged.customer_key,
        as_of.as_of_date,

        -- stage
        staged.lifecycle_stage,
        staged.lifecycle_stage in ('new', 'repeat') as is_active,

        -- timestamps
        staged.first_seen_at

    from staged
    cross join as_of

)

select * from final
