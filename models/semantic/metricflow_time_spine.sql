-- One row per calendar day from var time_spine_start (included) to time_spine_end (excluded): the time spine
-- MetricFlow joins to for metrics over time (models/semantic/_semantic__models.yml). The number of days is
-- worked out in Jinja from the two vars, so nothing is queried at compile time (dbt.date_spine would ask the
-- database); dbt.generate_series and dbt.dateadd keep the SQL portable.
{%- set first_day = modules.datetime.date.fromisoformat(var('time_spine_start')) %}
{%- set end_day = modules.datetime.date.fromisoformat(var('time_spine_end')) %}
{%- set day_count = (end_day - first_day).days %}

with

day_numbers as (

    {{ dbt.generate_series(day_count) }}

),

final as (

    select
        cast(
            {{ dbt.dateadd('day', 'cast(generated_number as ' ~ dbt.type_bigint() ~ ') - 1',
                "cast('" ~ first_day.isoformat() ~ "' as date)") }} as date
        ) as date_day
    from day_numbers

)

select * from final
