{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='email',
        on_schema_change='fail',
        post_hook="delete from {{ this }} where sessions = 0",
    )
}}
-- Sessions per known person (email): how many, when last seen, and the device / channel used most.
-- Aggregated by the person's email and hashed once per person. It depends on the as-of date only through the
-- sessions int_sessions__attributed admits, so it is incremental (README "Incremental refresh and history"): a
-- run re-derives only the persons whose sessions can have changed, each from all of their sessions, and deletes
-- the persons left without a session.
{%- set session_columns = 'person_email, device, channel, is_stitched, started_at, ended_at' %}
-- The attributed sessions are read by each step itself rather than through one shared CTE: DuckDB materialises a
-- CTE that is read several times (all sessions), while a direct read takes only its columns and prunes blocks.
with

{% if is_incremental() %}
{%- set latest = stored_maxima(this, ['loaded_at']) %}

stored as (

    select * from {{ this }}

),

-- Persons to re-derive: a session row of theirs written by int_sessions__attributed after the stored rows were
-- derived (new, edited, or re-attributed to them). The stored maximum is a literal, so DuckDB skips the storage
-- blocks of older sessions.
changed_persons as (

    select distinct person_email
    from {{ ref('int_sessions__attributed') }}
    where
        person_email is not null
        {%- if latest.loaded_at is not none %}
        and attributed_at > {{ timestamp_literal(latest.loaded_at) }}
        {%- endif %}

),

-- All sessions of those persons.
changed_persons_sessions as (

    select {{ session_columns }}
    from {{ ref('int_sessions__attributed') }}
    where person_email in (select changed_persons.person_email from changed_persons)

),

-- Every other person can only have lost sessions (re-attributed to someone else, or deleted by the attribution's
-- pre-hook: the as-of date moved back, the session became unusable). Their stored session count then exceeds
-- the current one, and this run re-derives everyone.
other_persons_session_counts as (

    select
        (
            select coalesce(sum(stored.sessions), 0)
            from stored
            where stored.email not in (select changed_persons.person_email from changed_persons)
        ) as stored_sessions,
        (
            select count(person_email) from {{ ref('int_sessions__attributed') }}
        ) - (
            select count(*) from changed_persons_sessions
        ) as current_sessions

),

{% endif %}

-- The sessions of the persons to re-derive: of every person on a full build.
sessions_to_derive as (

    {% if is_incremental() -%}
        select * from changed_persons_sessions

        union all

        select {{ session_columns }}
        from {{ ref('int_sessions__attributed') }}
        cross join other_persons_session_counts
        where
            other_persons_session_counts.stored_sessions != other_persons_session_counts.current_sessions
            -- explicit: NULL not in an empty list is true
            and person_email is not null
            and person_email not in (select changed_persons.person_email from changed_persons)
    {%- else -%}
        select {{ session_columns }}
        from {{ ref('int_sessions__attributed') }}
        where person_email is not null
    {%- endif %}

),

device_counts as (

    select
        person_email,
        device,
        count(*) as sessions,
        max(started_at) as last_started_at
    from sessions_to_derive
    group by person_email, device

),

-- Most sessions wins; ties go to the most recently used, then the name.
device_ranked as (

    select
        person_email,
        device,
        row_number() over (
            partition by person_email
            order by sessions desc nulls last, last_started_at desc nulls last, device asc nulls last
        ) as device_rank
    from device_counts

),

channel_counts as (

    select
        person_email,
        channel,
        count(*) as sessions,
        max(started_at) as last_started_at
    from sessions_to_derive
    group by person_email, channel

),

channel_ranked as (

    select
        person_email,
        channel,
        row_number() over (
            partition by person_email
            order by sessions desc nulls last, last_started_at desc nulls last, channel asc nulls last
        ) as channel_rank
    from channel_counts

),

totals as (

    select
        person_email,
        count(*) as sessions,
        sum(case when is_stitched then 1 else 0 end) as stitched_sessions,
        max(ended_at) as last_seen_at
    from sessions_to_derive
    group by person_email

),

derived as (

    select
        totals.person_email as email,
        totals.sessions,
        totals.stitched_sessions,
        device_ranked.device as main_device,
        channel_ranked.channel as main_channel,
        totals.last_seen_at
    from totals
    inner join device_ranked
        on totals.person_email = device_ranked.person_email and device_ranked.device_rank = 1
    inner join channel_ranked
        on totals.person_email = channel_ranked.person_email and channel_ranked.channel_rank = 1

    {% if is_incremental() %}

        -- Persons re-derived without a session left (only when everyone is): a row with sessions = 0 replaces the
        -- stored one and the post-hook deletes it. A changed person always has a session.
        union all

        select
            stored.email,
            0 as sessions,
            null as stitched_sessions,
            null as main_device,
            null as main_channel,
            null as last_seen_at
        from stored
        cross join other_persons_session_counts
        where
            other_persons_session_counts.stored_sessions != other_persons_session_counts.current_sessions
            and stored.email not in (select totals.person_email from totals)

    {% endif %}

),

final as (

    select
        -- ids
        email,
        -- every person_email of int_sessions__attributed is an email of the identity map, whose customer_key
        -- is the same person_key; derived here, once per re-derived person
        {{ person_key('email') }} as customer_key,

        -- counts
        cast(sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(stitched_sessions as {{ dbt.type_bigint() }}) as stitched_sessions,

        -- attributes
        main_device,
        main_channel,

        -- timestamps
        last_seen_at,
        -- when this run derived the row: the next incremental run re-derives persons with sessions attributed later
        {{ run_loaded_at() }} as loaded_at

    from derived

)

select * from final
