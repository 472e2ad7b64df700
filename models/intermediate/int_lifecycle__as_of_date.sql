-- The single as-of date every lifecycle model uses: var as_of_date, or else the date (UTC) of the latest
-- valid order (any status). as_of_end_at is the exclusive upper bound for every timestamp.
{%- set as_of_date = var('as_of_date', none) %}
{%- if as_of_date %}
    {%- set as_of_expression = "cast('" ~ as_of_date ~ "' as date)" %}
{%- else %}
    {%- set as_of_expression = 'latest_order_date' %}
{%- endif %}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

-- An aggregate without group by: always exactly one row.
latest_order as (

    select max(cast(ordered_at as date)) as latest_order_date
    from orders

),

as_of as (

    select
        latest_order_date,
        {{ as_of_expression }} as as_of_date
    from latest_order

),

final as (

    select
        -- dates
        as_of_date,
        cast({{ dbt.dateadd('day', 1, 'as_of_date') }} as {{ dbt.type_timestamp() }}) as as_of_end_at,
        latest_order_date

    from as_of

)

select * from final
