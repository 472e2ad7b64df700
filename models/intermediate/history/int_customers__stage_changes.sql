{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='fail',
        post_hook="{{ keep_latest_stage_change_dates(ref('int_lifecycle__as_of_date')) }}",
    )
}}
-- Per known person and as-of date: the stage before the current one and the first as-of date of the current
-- stage. A person counts as entering a stage on an as-of date when the recorded as-of date before it (of the
-- whole history) had them in another stage or did not know them.
--
-- Stored for the current as-of date and the recorded date before it. A nightly run (the next as-of date, or
-- the same one again) derives the current rows from the stored rows of the date before, reading no history;
-- any other run (first build, --full-refresh, a backfilled earlier date, a skipped date) derives them from the
-- whole history. Both give the same rows (README "Stage history").
{%- set chain_from = none %}
{%- if is_incremental() %}
    {%- set dates = stage_history_dates(ref('int_lifecycle__as_of_date'), ref('customer_stage_history'), this) %}
    {%- if dates.history_before is none %}
    {%- elif dates.stored_latest is not none and dates.stored_latest < dates.as_of
        and dates.stored_latest == dates.history_before %}
        {%- set chain_from = dates.stored_latest %}
    {%- elif dates.stored_latest == dates.as_of and dates.stored_before == dates.history_before %}
        {%- set chain_from = dates.stored_before %}
    {%- endif %}
{%- endif %}
-- depends_on: {{ ref('int_lifecycle__as_of_date') }}
with

lifecycle as (

    select * from {{ ref('int_customers__lifecycle') }}

),

current_stages as (

    select
        customer_key,
        as_of_date,
        lifecycle_stage
    from lifecycle

),

{% if chain_from is not none %}

    -- The stored rows of the recorded date before the current one.
    stages_before as (

        select
            customer_key,
            lifecycle_stage,
            previous_stage,
            stage_changed_on
        from {{ this }}
        where as_of_date = {{ date_literal(chain_from) }}

    ),

    stage_changes as (

        select
            current_stages.customer_key,
            current_stages.as_of_date,
            current_stages.lifecycle_stage,
            case
                when stages_before.lifecycle_stage = current_stages.lifecycle_stage
                    then stages_before.previous_stage
                else stages_before.lifecycle_stage
            end as previous_stage,
            case
                when stages_before.lifecycle_stage = current_stages.lifecycle_stage
                    then stages_before.stage_changed_on
                else current_stages.as_of_date
            end as stage_changed_on
        from current_stages
        left join stages_before
            on current_stages.customer_key = stages_before.customer_key

    ),

{% endif %}

{% if chain_from is none %}

    history as (

        select * from {{ ref('customer_stage_history') }}

    ),

    -- Only dates before the current one: the history may also hold this date (it is written first) or later
    -- dates (when an earlier date is backfilled).
    timeline as (

        select
            history.customer_key,
            history.as_of_date,
            history.lifecycle_stage
        from history
        where history.as_of_date < (select min(current_stages.as_of_date) from current_stages)

        union all

        select * from current_stages

    ),

    timeline_dates as (

        select distinct as_of_date
        from timeline

    ),

    date_pairs as (

        select
            as_of_date,
            lag(as_of_date) over (order by as_of_date asc nulls last) as previous_as_of_date
        from timeline_dates

    ),

    -- Each person's stage on the recorded date before (NULL: not known then).
    with_stage_before as (

        select
            timeline.customer_key,
            timeline.as_of_date,
            timeline.lifecycle_stage,
            stages_before.lifecycle_stage as stage_before
        from timeline
        inner join date_pairs
            on timeline.as_of_date = date_pairs.as_of_date
        left join timeline as stages_before
            on
                date_pairs.previous_as_of_date = stages_before.as_of_date
                and timeline.customer_key = stages_before.customer_key

    ),

    stage_starts as (

        select
            customer_key,
            as_of_date,
            stage_before
        from with_stage_before
        where stage_before is null or stage_before != lifecycle_stage

    ),

    -- The dates to store: the current one and the recorded date before it (the base of the next nightly run).
    dates_to_store as (

        select as_of_date from date_pairs
        where as_of_date = (select max(timeline_dates.as_of_date) from timeline_dates)

        union all

        select previous_as_of_date from date_pairs
        where as_of_date = (select max(timeline_dates.as_of_date) from timeline_dates)

    ),

    rows_to_store as (

        select timeline.*
        from timeline
        where timeline.as_of_date in (select dates_to_store.as_of_date from dates_to_store)

    ),

    latest_starts as (

        select
            rows_to_store.customer_key,
            rows_to_store.as_of_date,
            rows_to_store.lifecycle_stage,
            max(stage_starts.as_of_date) as stage_changed_on
        from rows_to_store
        inner join stage_starts
            on
                rows_to_store.customer_key = stage_starts.customer_key
                and rows_to_store.as_of_date >= stage_starts.as_of_date
        group by rows_to_store.customer_key, rows_to_store.as_of_date, rows_to_store.lifecycle_stage

    ),

    stage_changes as (

        select
            latest_starts.customer_key,
            latest_starts.as_of_date,
            latest_starts.lifecycle_stage,
            stage_starts.stage_before as previous_stage,
            latest_starts.stage_changed_on
        from latest_starts
        inner join stage_starts
            on
                latest_starts.customer_key = stage_starts.customer_key
                and latest_starts.stage_changed_on = stage_starts.as_of_date

    ),

{% endif %}

final as (

    select
        -- ids
        customer_key,

        -- dates
        as_of_date,

        -- stage change
        lifecycle_stage,
        previous_stage,
        stage_changed_on

    from stage_changes

)

select * from final
