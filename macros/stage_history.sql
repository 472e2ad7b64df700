{#- Building blocks of the models that read customer_stage_history (README "Stage history"). Nightly runs read
    only the history rows of the as-of dates next to the current one, so their cost does not grow with the
    number of dates recorded. -#}

{#- The as-of dates around the current one, read when the model runs (upstream models are built by then) and
    returned as text ('YYYY-MM-DD', None when there is none):
      as_of:           the current as-of date
      history_before:  the latest date of customer_stage_history before it
      history_after:   the earliest date after it (only when an earlier date is backfilled)
    plus, with `stored` (the model's own table holding one as_of_date per run it kept):
      stored_latest:   its latest as_of_date
      stored_before:   its latest as_of_date before stored_latest -#}
{% macro stage_history_dates(as_of_model, history, stored=none) -%}
    {%- set dates = {} -%}
    {%- if execute -%}
        {%- if stored is not none and 'as_of_date' not in (
            adapter.get_columns_in_relation(stored) | map(attribute='name') | map('lower') | list) -%}
            {{ exceptions.raise_compiler_error(
                stored ~ " has no column as_of_date: it was built by an older version of this project. "
                ~ "Run once with --full-refresh (the stage history is kept)."
            ) }}
        {%- endif -%}
        {%- set as_of_sql = "(select as_of_date from " ~ as_of_model ~ ")" -%}
        {%- set text = dbt.type_string() -%}
        {%- set sql -%}
            select
                cast({{ as_of_sql }} as {{ text }}),
                cast((select max(as_of_date) from {{ history }} where as_of_date < {{ as_of_sql }}) as {{ text }}),
                cast((select min(as_of_date) from {{ history }} where as_of_date > {{ as_of_sql }}) as {{ text }})
            {%- if stored is not none %},
                cast((select max(as_of_date) from {{ stored }}) as {{ text }}),
                cast((
                    select max(as_of_date) from {{ stored }}
                    where as_of_date < (select max(as_of_date) from {{ stored }})
                ) as {{ text }})
            {%- endif %}
        {%- endset -%}
        {%- set row = run_query(sql).rows[0] -%}
        {%- do dates.update({'as_of': row[0], 'history_before': row[1], 'history_after': row[2]}) -%}
        {%- if stored is not none -%}
            {%- do dates.update({'stored_latest': row[3], 'stored_before': row[4]}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(dates) }}
{%- endmacro %}

{#- A date given as 'YYYY-MM-DD' text as a SQL literal. -#}
{% macro date_literal(value) -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- Post-hook of int_customers__stage_changes: keep the rows of the current as-of date and of the latest stored
    date before it; drop older ones and, after a backfilled earlier date, the later ones. -#}
{% macro keep_latest_stage_change_dates(as_of_model) -%}
    delete from {{ this }}
    where
        as_of_date > (select as_of_date from {{ as_of_model }})
        or as_of_date < (
            select max(stored.as_of_date)
            from {{ this }} as stored
            where stored.as_of_date < (select as_of_date from {{ as_of_model }})
        )
{%- endmacro %}

{#- Post-hook of customer_stage_history: with var stage_history_keep_days set, forget the dates more than that many
    days before the run's as-of date, except the latest date before it, which the same run's stage changes and
    transitions still read (so a gap between runs longer than the window resets nothing). Renders nothing when
    the var is null (keep every date). -#}
{% macro forget_old_stage_history(as_of_model) -%}
    {%- set keep_days = var('stage_history_keep_days') -%}
    {%- if keep_days is not none -%}
        {%- if keep_days is not number or keep_days is boolean or keep_days < 0 or keep_days != keep_days | int -%}
            {{ exceptions.raise_compiler_error(
                "var stage_history_keep_days must be a whole number of days (0 or more), or null to keep every "
                ~ "date; got " ~ keep_days ~ "."
            ) }}
        {%- endif -%}
        delete from {{ this }}
        where
            as_of_date < {{ dbt.dateadd('day', -(keep_days | int), '(select as_of_date from ' ~ as_of_model ~ ')') }}
            and as_of_date < (
                select max(earlier.as_of_date)
                from {{ this }} as earlier
                where earlier.as_of_date < (select as_of_date from {{ as_of_model }})
            )
    {%- endif -%}
{%- endmacro %}
