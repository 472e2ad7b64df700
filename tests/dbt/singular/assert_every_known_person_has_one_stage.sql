-- Every known person (int_persons__identified) is in customer_lifecycle exactly once, with exactly
-- one of the five stages; no row of the mart is a stranger. Returns the offending persons.
with

persons as (

    select customer_key
    from {{ ref('int_persons__identified') }}

),

lifecycle as (

    select
        customer_key,
        lifecycle_stage
    from {{ ref('customer_lifecycle') }}

),

rows_per_person as (

    select
        coalesce(persons.customer_key, lifecycle.customer_key) as customer_key,
        count(lifecycle.customer_key) as lifecycle_rows,
        count(persons.customer_key) as identity_rows,
        sum(
            case when lifecycle.lifecycle_stage in ('prospect', 'new', 'repeat', 'at_risk', 'lapsed') then 1 else 0 end
        ) as rows_with_a_stage
    from persons
    full outer join lifecycle
        on persons.customer_key = lifecycle.customer_key
    group by coalesce(persons.customer_key, lifecycle.customer_key)

),

final as (

    select *
    from rows_per_person
    where lifecycle_rows != 1 or identity_rows != 1 or rows_with_a_stage != 1

)

select * from final
