{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['identifier_type', 'identifier_value'],
        on_schema_change='fail',
        post_hook="delete from {{ this }} where email is null",
    )
}}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('base_shop__sessions') }}
-- depends_on: {{ ref('base_shop__newsletter_signups') }}
-- Identity map: every email, customer_id and visitor_id seen up to the as-of date, each linked to one
-- person (normalised email). Where an id points at several emails the earliest-seen email wins.
--
-- Incremental by affected identifiers (README "Incremental refresh and history"): a normal run re-derives,
-- from all of their sightings, only the identifiers whose row can differ, and keeps the others. An
-- identifier is affected when
--   1. a row carrying it was (re)loaded by staging since this table was last derived (base rows with a
--      later loaded_at, quarantined ones too), or its row lies between the last stored first sighting and the
--      as-of bound (rows the as-of date moved in);
--   2. the row of its stored first sighting (first_seen_row) was reloaded: the row may have lost the
--      identifier (edited in place, now quarantined), and only the first sighting decides the result;
--   3. its stored first sighting is at or after the as-of bound (the as-of date moved back);
--   4. (visitors) one of its sessions without an email carries a customer_id whose owner changed.
-- Rows of affected identifiers are replaced (delete+insert); an affected identifier with no sighting left
-- is written as a row without email, which the post-hook deletes.
-- orders / sessions / signups are inlined into each reader (macros/inline_cte.sql): storing every session
-- once before the filters apply took most of the run.
{%- if is_incremental() %}
    {#- What the stored rows were derived from: base rows loaded later are new to them, and every row before the
        last stored first sighting was already in scope (both very old on an empty table: everything is new).
        Literals read at compile time, so that DuckDB skips the storage blocks of older base rows. #}
    {%- set stored = stored_maxima(this, ['loaded_at', 'first_seen_at']) %}
    {%- set derived_at = timestamp_literal(stored['loaded_at'] or '1900-01-01') %}
    {%- set last_first_seen_at = timestamp_literal(stored['first_seen_at'] or '1900-01-01') %}
{%- endif %}
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

orders as {{ inline_cte() }} (

    select
        orders.order_id,
        orders.customer_id,
        orders.email,
        orders.ordered_at
    from {{ ref('stg_shop__orders') }} as orders
    cross join as_of
    where orders.ordered_at < as_of.as_of_end_at

),

sessions as {{ inline_cte() }} (

    select
        sessions.session_id,
        sessions.visitor_id,
        sessions.customer_id,
        sessions.email,
        sessions.started_at
    from {{ ref('stg_shop__sessions') }} as sessions
    cross join as_of
    where sessions.started_at < as_of.as_of_end_at

),

signups as {{ inline_cte() }} (

    select
        signups.signup_id,
        signups.email,
        signups.signed_up_at
    from {{ ref('stg_shop__newsletter_signups') }} as signups
    cross join as_of
    where signups.signed_up_at < as_of.as_of_end_at

),

{%- if is_incremental() %}

-- Base rows (re)written by staging since the stored rows were derived, usable or not: re-derived id groups, in
-- which a row may also have lost an identifier (edited in place, now quarantined). Identifiers of quarantined
-- rows are re-derived needlessly but correctly.
reloaded_rows as (

    {%- set no_id = 'cast(null as ' ~ dbt.type_string() ~ ')' %}
    {%- for source, base_model, customer_id, visitor_id in [
        ('order', 'base_shop__orders', 'customer_id', no_id),
        ('session', 'base_shop__sessions', 'customer_id', 'visitor_id'),
        ('signup', 'base_shop__newsletter_signups', no_id, no_id),
    ] %}
    select
        '{{ source }}' as source,
        dedup_key as source_id,
        email,
        {{ customer_id }} as customer_id,
        {{ visitor_id }} as visitor_id
    from {{ ref(base_model) }}
    where loaded_at > {{ derived_at }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

-- Rows dated at or after the last stored first sighting: those the as-of date moved in (no stored row was
-- derived from a later one).
admitted_rows as (

    select
        email,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as visitor_id
    from orders
    where ordered_at >= {{ last_first_seen_at }}

    union all

    select
        email,
        customer_id,
        visitor_id
    from sessions
    where started_at >= {{ last_first_seen_at }}

    union all

    select
        email,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as visitor_id
    from signups
    where signed_up_at >= {{ last_first_seen_at }}

),

reloaded_sightings as (

    select distinct source || ':' || source_id as sighting
    from reloaded_rows

),

-- Stored identifiers first seen at or after the as-of bound, or whose first sighting was reloaded (rules 2,
-- 3). Two selects, not one with `or` (a mark join of every stored row); the inner join on the few distinct
-- reloaded sightings lets DuckDB build its hash table on them rather than on the stored rows.
stored_to_recheck as (

    select
        stored.identifier_type,
        stored.identifier_value
    from {{ this }} as stored
    cross join as_of
    where stored.first_seen_at >= as_of.as_of_end_at

    union all

    select
        stored.identifier_type,
        stored.identifier_value
    from reloaded_sightings
    inner join {{ this }} as stored
        on reloaded_sightings.sighting = stored.first_seen_row

),

-- Without NULLs: `not in` a list holding one is never true.
affected_emails as (

    select email from reloaded_rows where email is not null
    union
    select email from admitted_rows where email is not null
    union
    select identifier_value from stored_to_recheck where identifier_type = 'email'

),

affected_customer_ids as (

    select customer_id from reloaded_rows where customer_id is not null
    union
    select customer_id from admitted_rows where customer_id is not null
    union
    select identifier_value from stored_to_recheck where identifier_type = 'customer_id'

),
{%- endif %}

email_sightings as (

    select
        email,
        ordered_at as seen_at,
        'order:' || order_id as sighting
    from orders
    where {{ only_affected('email', 'affected_emails') }}

    union all

    select
        email,
        started_at as seen_at,
        'session:' || session_id as sighting
    from sessions
    where email is not null and {{ only_affected('email', 'affected_emails') }}

    union all

    select
        email,
        signed_up_at as seen_at,
        'signup:' || signup_id as sighting
    from signups
    where {{ only_affected('email', 'affected_emails') }}

),

-- The sighting that fixes first_seen_at (the alphabetically first one on a tie): see rule 2 above.
persons as (

    {{ first_by('email_sightings', 'email', ['seen_at', 'sighting']) }}

),

customer_id_sightings as (

    select
        customer_id,
        email,
        ordered_at as seen_at,
        'order:' || order_id as sighting
    from orders
    where customer_id is not null and {{ only_affected('customer_id', 'affected_customer_ids') }}

    union all

    select
        customer_id,
        email,
        started_at as seen_at,
        'session:' || session_id as sighting
    from sessions
    where
        customer_id is not null and email is not null
        and {{ only_affected('customer_id', 'affected_customer_ids') }}

),

-- The owner is the email of the earliest sighting (alphabetically first on a tie), and that sighting the
-- first_seen_row (alphabetically first on a tie again).
customer_ids as (

    {{ first_by('customer_id_sightings', 'customer_id', ['seen_at', 'email', 'sighting']) }}

),

{%- if is_incremental() %}

-- Every customer_id's owner after this run: re-derived where affected, else as stored.
all_customer_id_owners as (

    select
        customer_id,
        email
    from customer_ids

    union all

    select
        identifier_value as customer_id,
        email
    from {{ this }} as stored
    where
        identifier_type = 'customer_id'
        and identifier_value not in (select affected_customer_ids.customer_id from affected_customer_ids)

),

-- Affected customer ids whose owner is new, different or gone (rule 4).
customer_ids_with_new_owner as (

    select affected_customer_ids.customer_id
    from affected_customer_ids
    left join customer_ids
        on affected_customer_ids.customer_id = customer_ids.customer_id
    left join {{ this }} as stored
        on
            stored.identifier_type = 'customer_id'
            and affected_customer_ids.customer_id = stored.identifier_value
    where customer_ids.email is distinct from stored.email

),

affected_visitor_ids as (

    select visitor_id from reloaded_rows where visitor_id is not null
    union
    select visitor_id from admitted_rows where visitor_id is not null
    union
    select sessions.visitor_id
    from sessions
    where
        sessions.email is null
        and sessions.customer_id in (select customer_ids_with_new_owner.customer_id from customer_ids_with_new_owner)
    union
    select identifier_value from stored_to_recheck where identifier_type = 'visitor_id'

),
{%- endif %}

-- A session is identified by its own email, else by the owner of its customer_id.
identified_sessions as (

    select
        sessions.visitor_id,
        sessions.started_at,
        coalesce(sessions.email, owners.email) as email,
        'session:' || sessions.session_id as sighting
    from sessions
    left join {{ 'all_customer_id_owners' if is_incremental() else 'customer_ids' }} as owners
        on sessions.customer_id = owners.customer_id
    where
        coalesce(sessions.email, owners.email) is not null
        and {{ only_affected('sessions.visitor_id', 'affected_visitor_ids', 'visitor_id') }}

),

-- Same rule as for customer ids: the person of the earliest identified session.
visitors as (

    {{ first_by('identified_sessions', 'visitor_id', ['started_at', 'email', 'sighting']) }}

),

identifiers as (

    select
        'email' as identifier_type,
        email as identifier_value,
        email,
        seen_at as first_seen_at,
        sighting as first_seen_row
    from persons

    union all

    select
        'customer_id' as identifier_type,
        customer_id as identifier_value,
        email,
        seen_at as first_seen_at,
        sighting as first_seen_row
    from customer_ids

    union all

    select
        'visitor_id' as identifier_type,
        visitor_id as identifier_value,
        email,
        started_at as first_seen_at,
        sighting as first_seen_row
    from visitors

),

{%- if is_incremental() %}

-- Affected identifiers without a sighting left: a row without email replaces the stored one, and the
-- post-hook deletes it.
gone_identifiers as (

    {%- for identifier_type, affected, column in [
        ('email', 'affected_emails', 'email'),
        ('customer_id', 'affected_customer_ids', 'customer_id'),
        ('visitor_id', 'affected_visitor_ids', 'visitor_id'),
    ] %}
    select
        '{{ identifier_type }}' as identifier_type,
        {{ affected }}.{{ column }} as identifier_value
    from {{ affected }}
    where {{ affected }}.{{ column }} not in (
        select identifiers.identifier_value
        from identifiers
        where identifiers.identifier_type = '{{ identifier_type }}'
    )
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

identifiers_and_gone as (

    select * from identifiers

    union all

    select
        identifier_type,
        identifier_value,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_timestamp() }}) as first_seen_at,
        cast(null as {{ dbt.type_string() }}) as first_seen_row
    from gone_identifiers

),
{%- endif %}

final as (

    select
        -- ids
        {{ person_key('email') }} as customer_key,
        identifier_type,
        identifier_value,
        email,

        -- timestamps
        first_seen_at,

        -- incremental bookkeeping
        first_seen_row,
        {{ run_loaded_at() }} as loaded_at

    from {{ 'identifiers_and_gone' if is_incremental() else 'identifiers' }}

)

select * from final
