-- The single as-of date every lifecycle model uses: var as_of_date, or else the date (UTC) of the latest
-- valid order (any status). as_of_end_at is the exclusive upper bound for every timestamp.
{%- set as_of_date = var('as_of_date', none) %}
{%- if as_of_date %}
    {%- set as_of_expression = "max(cast('" ~ as_of_date ~ "' as date))" %}
    {%- set as_of_relation = 'one_row' %}
{%- else %}
    {%- set as_of_expression = 'max(cast(ordered_at as date))' %}
    {%- set as_of_relation = 'orders' %}
{%- endif %}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

one_row as (

    select 1 as row_number

),

as_of as (

    select {{ as_of_expression }} as as_of_date
    from {{ as_of_relation }}

),

final as (

    select
        -- dates
        as_of_date,
        cast({{ dbt.dateadd('day', 1, 'as_of_date') }} as {{ dbt.type_timestamp() }}) as as_of_end_at

    from as_of

)

select * from final
