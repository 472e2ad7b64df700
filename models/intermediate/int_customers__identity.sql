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
--   1. a usable row carrying it was (re)loaded by staging since this table was last derived
--      (base rows with a later loaded_at), or its row lies between the last stored first sighting and the
--      as-of bound (rows the as-of date moved in);
--   2. the row of its stored first sighting (first_seen_row) was reloaded: the row may have lost the
--      identifier (edited in place, now quarantined), and only the first sighting decides the result;
--   3. its stored first sighting is at or after the as-of bound (the as-of date moved back);
--   4. (visitors) one of its sessions without an email carries a customer_id whose owner changed.
-- Rows of affected identifiers are replaced (delete+insert); an affected identifier with no sighting left
-- is written as a row without email, which the post-hook deletes.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

orders as (

    select
        orders.order_id,
        orders.customer_id,
        orders.email,
        orders.ordered_at
    from {{ ref('stg_shop__orders') }} as orders
    cross join as_of
    where orders.ordered_at < as_of.as_of_end_at

),

sessions as (

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

signups as (

    select
        signups.signup_id,
        signups.email,
        signups.signed_up_at
    from {{ ref('stg_shop__newsletter_signups') }} as signups
    cross join as_of
    where signups.signed_up_at < as_of.as_of_end_at

),

{%- if is_incremental() %}

-- What the stored rows were derived from: base rows loaded later are new to them, and every row before the
-- last stored first sighting was already in scope. Both are very old on an empty table: everything is new.
watermarks as (

    select
        coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as derived_at,
        coalesce(max(first_seen_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as last_first_seen_at
    from {{ this }} as stored

),

-- Source rows (re)written by staging since then, usable or not: the id groups of the base models.
reloaded_rows as (

    {%- for source, base_model in [
        ('order', 'base_shop__orders'),
        ('session', 'base_shop__sessions'),
        ('signup', 'base_shop__newsletter_signups'),
    ] %}
    select
        '{{ source }}' as source,
        dedup_key as source_id
    from {{ ref(base_model) }}
    where loaded_at > (select watermarks.derived_at from watermarks)
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

changed_orders as (

    select orders.*
    from orders
    where
        orders.order_id in (select reloaded_rows.source_id from reloaded_rows where reloaded_rows.source = 'order')
        or orders.ordered_at >= (select watermarks.last_first_seen_at from watermarks)

),

changed_sessions as (

    select sessions.*
    from sessions
    where
        sessions.session_id in (
            select reloaded_rows.source_id from reloaded_rows
            where reloaded_rows.source = 'session'
        )
        or sessions.started_at >= (select watermarks.last_first_seen_at from watermarks)

),

changed_signups as (

    select signups.*
    from signups
    where
        signups.signup_id in (select reloaded_rows.source_id from reloaded_rows where reloaded_rows.source = 'signup')
        or signups.signed_up_at >= (select watermarks.last_first_seen_at from watermarks)

),

-- Stored identifiers whose first sighting was reloaded or is no longer before the as-of bound (rules 2, 3).
stored_to_recheck as (

    select
        stored.identifier_type,
        stored.identifier_value
    from {{ this }} as stored
    cross join as_of
    where
        stored.first_seen_at >= as_of.as_of_end_at
        or stored.first_seen_row in (
            select reloaded_rows.source || ':' || reloaded_rows.source_id
            from reloaded_rows
        )

),

affected_emails as (

    select email from changed_orders
    union
    select email from changed_sessions where email is not null
    union
    select email from changed_signups
    union
    select identifier_value from stored_to_recheck where identifier_type = 'email'

),

affected_customer_ids as (

    select customer_id from changed_orders where customer_id is not null
    union
    select customer_id from changed_sessions where customer_id is not null
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

email_first_seen as (

    select
        email,
        min(seen_at) as first_seen_at
    from email_sightings
    group by email

),

-- The sighting that fixes first_seen_at (the alphabetically first one on a tie): see rule 2 above.
persons as (

    select
        sightings.email,
        first_seen.first_seen_at,
        min(sightings.sighting) as first_seen_row
    from email_sightings as sightings
    inner join email_first_seen as first_seen
        on
            sightings.email = first_seen.email
            and sightings.seen_at = first_seen.first_seen_at
    group by sightings.email, first_seen.first_seen_at

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

customer_id_first_seen as (

    select
        customer_id,
        min(seen_at) as first_seen_at
    from customer_id_sightings
    group by customer_id

),

customer_id_first_sightings as (

    select sightings.*
    from customer_id_sightings as sightings
    inner join customer_id_first_seen as first_seen
        on
            sightings.customer_id = first_seen.customer_id
            and sightings.seen_at = first_seen.first_seen_at

),

-- The owner is the email of the earliest sighting (alphabetically first on a tie): two aggregates and a join
-- instead of a row_number() window, which sorts every sighting.
customer_id_owners as (

    select
        customer_id,
        min(email) as email,
        min(seen_at) as first_seen_at
    from customer_id_first_sightings
    group by customer_id

),

customer_ids as (

    select
        owners.customer_id,
        owners.email,
        owners.first_seen_at,
        min(first_sightings.sighting) as first_seen_row
    from customer_id_owners as owners
    inner join customer_id_first_sightings as first_sightings
        on
            owners.customer_id = first_sightings.customer_id
            and owners.email = first_sightings.email
    group by owners.customer_id, owners.email, owners.first_seen_at

),

{%- if is_incremental() %}

-- Every customer_id's owner after this run: re-derived where affected, else as stored.
all_customer_id_owners as (

    select
        customer_id,
        email
    from customer_id_owners

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
    left join customer_id_owners
        on affected_customer_ids.customer_id = customer_id_owners.customer_id
    left join {{ this }} as stored
        on
            stored.identifier_type = 'customer_id'
            and affected_customer_ids.customer_id = stored.identifier_value
    where customer_id_owners.email is distinct from stored.email

),

affected_visitor_ids as (

    select visitor_id from changed_sessions
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
    left join {{ 'all_customer_id_owners' if is_incremental() else 'customer_id_owners' }} as owners
        on sessions.customer_id = owners.customer_id
    where
        coalesce(sessions.email, owners.email) is not null
        and {{ only_affected('sessions.visitor_id', 'affected_visitor_ids', 'visitor_id') }}

),

visitor_first_identified as (

    select
        visitor_id,
        min(started_at) as first_identified_at
    from identified_sessions
    group by visitor_id

),

visitor_first_sessions as (

    select identified_sessions.*
    from identified_sessions
    inner join visitor_first_identified as first_identified
        on
            identified_sessions.visitor_id = first_identified.visitor_id
            and identified_sessions.started_at = first_identified.first_identified_at

),

-- Same rule as for customer ids: the person of the earliest identified session.
visitor_owners as (

    select
        visitor_id,
        min(email) as email,
        min(started_at) as first_identified_at
    from visitor_first_sessions
    group by visitor_id

),

visitors as (

    select
        owners.visitor_id,
        owners.email,
        owners.first_identified_at,
        min(first_sessions.sighting) as first_seen_row
    from visitor_owners as owners
    inner join visitor_first_sessions as first_sessions
        on
            owners.visitor_id = first_sessions.visitor_id
            and owners.email = first_sessions.email
    group by owners.visitor_id, owners.email, owners.first_identified_at

),

identifiers as (

    select
        'email' as identifier_type,
        email as identifier_value,
        email,
        first_seen_at,
        first_seen_row
    from persons

    union all

    select
        'customer_id' as identifier_type,
        customer_id as identifier_value,
        email,
        first_seen_at,
        first_seen_row
    from customer_ids

    union all

    select
        'visitor_id' as identifier_type,
        visitor_id as identifier_value,
        email,
        first_identified_at as first_seen_at,
        first_seen_row
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
        {{ dbt.hash('email') }} as customer_key,
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
