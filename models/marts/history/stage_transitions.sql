{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='to_as_of_date',
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_lifecycle__as_of_date') }}
-- How many persons moved from each stage to each other stage between consecutive as-of dates of the history.
-- A person first seen at the later date comes from 'not_known'.
-- Incremental: a run replaces only the pairs its as-of date is part of — (date before, this date) and, when an
-- earlier date is backfilled, (this date, date after), which replaces the pair that skipped it — reading the
-- history rows of those dates only (README "Stage history").
{%- if is_incremental() %}
    {%- set dates = stage_history_dates(ref('int_lifecycle__as_of_date'), ref('customer_stage_history')) %}
    {%- set pairs = [] %}
    {%- if dates.history_before is not none %}
        {%- do pairs.append((dates.history_before, dates.as_of)) %}
    {%- endif %}
    {%- if dates.history_after is not none %}
        {%- do pairs.append((dates.as_of, dates.history_after)) %}
    {%- endif %}
{%- endif %}
with

{% if is_incremental() %}

    history as (

        select * from {{ ref('customer_stage_history') }}
        where as_of_date in (
            {%- for value in [dates.history_before, dates.as_of, dates.history_after] if value is not none %}
                {{ date_literal(value) }}{{ ',' if not loop.last }}
            {%- else %}
                null
            {%- endfor %}
        )

    ),

    date_pairs as (

        {% for from_date, to_date in pairs -%}
            select
                {{ date_literal(from_date) }} as from_as_of_date,
                {{ date_literal(to_date) }} as to_as_of_date
            {% if not loop.last %}union all{% endif %}
        {% else -%}
            select
                cast(null as date) as from_as_of_date,
                cast(null as date) as to_as_of_date
            from history
            where false
        {%- endfor %}

    ),

{% endif %}

{% if not is_incremental() %}

    history as (

        select * from {{ ref('customer_stage_history') }}

    ),

    as_of_dates as (

        select distinct as_of_date
        from history

    ),

    -- Each recorded as-of date with the one recorded before it.
    date_pairs as (

        select
            as_of_date as to_as_of_date,
            lag(as_of_date) over (order by as_of_date asc nulls last) as from_as_of_date
        from as_of_dates

    ),

{% endif %}

-- Every person seen on the later date, with their stage on the earlier one (NULL = not known then).
moves as (

    select
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        coalesce(earlier.lifecycle_stage, 'not_known') as from_stage,
        later.lifecycle_stage as to_stage
    from date_pairs
    inner join history as later
        on date_pairs.to_as_of_date = later.as_of_date
    left join history as earlier
        on
            date_pairs.from_as_of_date = earlier.as_of_date
            and later.customer_key = earlier.customer_key
    where date_pairs.from_as_of_date is not null

),

final as (

    select
        -- dates
        from_as_of_date,
        to_as_of_date,

        -- stages
        from_stage,
        to_stage,
        from_stage != to_stage as is_change,

        -- counts
        count(*) as persons

    from moves
    group by from_as_of_date, to_as_of_date, from_stage, to_stage

)

select * from final
