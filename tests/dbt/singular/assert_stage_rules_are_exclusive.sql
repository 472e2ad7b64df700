-- Each stage's rule, written out independently of the model: a person who matches no rule, more than one
-- rule, or a rule other than the stage they were given is returned.
with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

matches as (

    select
        customer_key,
        lifecycle_stage,
        case when purchase_days is null then 1 else 0 end as is_prospect,
        case when purchase_days = 1 and overdue_ratio <= {{ var('at_risk_factor') }} then 1 else 0 end as is_new,
        case when purchase_days >= 2 and overdue_ratio <= {{ var('at_risk_factor') }} then 1 else 0 end as is_repeat,
        case
            when overdue_ratio > {{ var('at_risk_factor') }} and overdue_ratio <= {{ var('lapsed_factor') }} then 1
            else 0
        end as is_at_risk,
        case when overdue_ratio > {{ var('lapsed_factor') }} then 1 else 0 end as is_lapsed
    from lifecycle

),

final as (

    select *
    from matches
    where
        is_prospect + is_new + is_repeat + is_at_risk + is_lapsed != 1
        or (lifecycle_stage = 'prospect' and is_prospect != 1)
        or (lifecycle_stage = 'new' and is_new != 1)
        or (lifecycle_stage = 'repeat' and is_repeat != 1)
        or (lifecycle_stage = 'at_risk' and is_at_risk != 1)
        or (lifecycle_stage = 'lapsed' and is_lapsed != 1)

)

select * from final
