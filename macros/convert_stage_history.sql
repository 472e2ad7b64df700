{#- `dbt run-operation convert_stage_history_to_changes`: upgrade a stage history written by the per-date version
    (one row per person per as-of date, column as_of_date) to the changes-only shape of design 2, keeping what it
    recorded. Without it the first design-2 run stops on customer_stage_history (its incremental select reads
    valid_from from the stored table). Does nothing (and says so) when the table is missing or already new.
    - stage_history_dates: the distinct old as_of_dates (it replaces any table a failed design-2 run left);
    - customer_stage_history: a person's old row when their tracked state differs from their row on the previous
      recorded date, or they were not known on it (valid_from = its as_of_date); and a NULL-state row on a recorded
      date where a person known on the previous recorded date is missing.
    Both are built under temporary names, then swapped in by drop + rename, all in one transaction committed at
    the end: interrupted anywhere, the warehouse keeps the old table (run the operation again). -#}
{% macro convert_stage_history_to_changes() %}
    {%- set history = ref('customer_stage_history').incorporate(type='table') -%}
    {%- set dates = ref('stage_history_dates').incorporate(type='table') -%}
    {%- set stored = adapter.get_relation(history.database, history.schema, history.identifier) -%}
    {%- if stored is none -%}
        {{ log(history ~ " does not exist: nothing to convert.", info=True) }}
        {{ return(none) }}
    {%- endif -%}
    {%- if 'as_of_date' not in (adapter.get_columns_in_relation(stored) | map(attribute='name') | map('lower') | list) -%}
        {{ log(history ~ " has no as_of_date column (already changes only): nothing to convert.", info=True) }}
        {{ return(none) }}
    {%- endif -%}

    {%- set new_history = history.incorporate(path={'identifier': history.identifier ~ '__converted'}) -%}
    {%- set new_dates = dates.incorporate(path={'identifier': dates.identifier ~ '__converted'}) -%}
    {#- Leftovers of an interrupted earlier attempt. -#}
    {%- do run_query('drop table if exists ' ~ new_history) -%}
    {%- do run_query('drop table if exists ' ~ new_dates) -%}

    {#- Column types of the contract (_history__models.yml). -#}
    {%- set text = dbt.type_string() -%}
    {%- set person = 'partition by old_rows.customer_key order by old_rows.as_of_date asc nulls last' -%}
    {%- call statement('convert_dates') -%}
        create table {{ new_dates }} as
        select distinct cast(as_of_date as date) as as_of_date
        from {{ stored }}
    {%- endcall -%}
    {%- call statement('convert_history') -%}
        create table {{ new_history }} as
        with

        old_rows as (
            select
                cast(customer_key as {{ dbt.type_bigint() }}) as customer_key,
                cast(as_of_date as date) as as_of_date,
                cast(lifecycle_stage as {{ text }}) as lifecycle_stage,
                cast(rfm_segment as {{ text }}) as rfm_segment,
                cast(is_vip as {{ dbt.type_boolean() }}) as is_vip,
                cast(engagement as {{ text }}) as engagement
            from {{ stored }}
        ),

        -- Each recorded date with the recorded dates before and after it.
        recorded_dates as (
            select
                as_of_date,
                lag(as_of_date) over (order by as_of_date asc nulls last) as date_before,
                lead(as_of_date) over (order by as_of_date asc nulls last) as date_after
            from {{ new_dates }}
        ),

        -- Each old row with the same person's row before and after it (whatever its date).
        person_rows as (
            select
                old_rows.*,
                recorded_dates.date_before,
                recorded_dates.date_after,
                lag(old_rows.as_of_date) over ({{ person }}) as person_date_before,
                lead(old_rows.as_of_date) over ({{ person }}) as person_date_after,
                lag(old_rows.lifecycle_stage) over ({{ person }}) as stage_before,
                lag(old_rows.rfm_segment) over ({{ person }}) as segment_before,
                lag(old_rows.is_vip) over ({{ person }}) as vip_before,
                lag(old_rows.engagement) over ({{ person }}) as engagement_before
            from old_rows
            inner join recorded_dates
                on old_rows.as_of_date = recorded_dates.as_of_date
        )

        -- Newly known (not on the date before) or changed since the date before.
        select customer_key, as_of_date as valid_from, lifecycle_stage, rfm_segment, is_vip, engagement
        from person_rows
        where
            person_date_before is null
            or person_date_before <> date_before
            or lifecycle_stage is distinct from stage_before
            or rfm_segment is distinct from segment_before
            or is_vip is distinct from vip_before
            or engagement is distinct from engagement_before

        union all

        -- Known on this date, missing on the next recorded one: no longer known from then on.
        select
            customer_key,
            date_after as valid_from,
            cast(null as {{ text }}) as lifecycle_stage,
            cast(null as {{ text }}) as rfm_segment,
            cast(null as {{ dbt.type_boolean() }}) as is_vip,
            cast(null as {{ text }}) as engagement
        from person_rows
        where
            date_after is not null
            and (person_date_after is null or person_date_after <> date_after)
    {%- endcall -%}

    {#- The swap, in the same transaction as the builds above. -#}
    {%- set old_dates = adapter.get_relation(dates.database, dates.schema, dates.identifier) -%}
    {%- if old_dates is not none -%}
        {%- do adapter.drop_relation(old_dates) -%}
    {%- endif -%}
    {%- do adapter.rename_relation(new_dates, dates) -%}
    {%- do adapter.drop_relation(stored) -%}
    {%- do adapter.rename_relation(new_history, history) -%}
    {%- do adapter.commit() -%}

    {%- set counts = run_query(
        'select (select count(*) from ' ~ history ~ '), (select count(*) from ' ~ dates ~ ')'
    ).rows[0] -%}
    {{ log(
        "Converted " ~ history ~ " to changes only: " ~ counts[0] ~ " rows over " ~ counts[1]
        ~ " recorded as-of dates (" ~ dates ~ ").", info=True
    ) }}
{% endmacro %}
