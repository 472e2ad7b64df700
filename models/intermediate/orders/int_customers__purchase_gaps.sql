-- One row per gap between two consecutive purchase days of a person.
{{ config(materialized='view') }}

with

purchase_days as (

    select * from {{ ref('int_customers__purchase_days') }}

),

final as (

    select
        -- ids
        customer_key,
        email,
        purchase_day_number,

        -- dates
        previous_purchase_date,
        purchase_date,

        -- gaps
        {{ dbt.datediff('previous_purchase_date', 'purchase_date', 'day') }}
            as gap_days

    from purchase_days
    where previous_purchase_date is not null

)

select * from final
