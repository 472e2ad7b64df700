{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='session_id',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_that_left_the_window(
            ref('base_shop__sessions'), ref('stg_shop__sessions'), 'session_id', 'started_at',
            ref('int_lifecycle__as_of_date')) }}",
    )
}}
-- Sessions up to the as-of date with the person they count for: the session's own email, else the owner
-- of its customer_id, else the person its visitor_id was later identified as (stitched).
-- Readers that aggregate per person group by person_email, so the customer_key hash is not computed for millions
-- of sessions. Stored (as a view, its tests re-ran the attribution joins and ran out of memory at 10M orders) and
-- incremental: a run writes only the sessions whose row can differ from the stored one (README "Incremental
-- refresh and history"); the pre-hook deletes the sessions that left the window or the usable rows.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

sessions_in_window as (

    select sessions.*
    from {{ ref('stg_shop__sessions') }} as sessions
    cross join as_of
    where sessions.started_at < as_of.as_of_end_at

),

-- Inlined: stored once, its 7M customer and visitor rows raised the query's peak memory by 0.65 GB (to 2.7 GB of
-- the 4 GB cap that two concurrent models share) for no gain; each owner CTE below reads only its own type.
identity as {{ inline_cte() }} (

    select * from {{ ref('int_customers__identity') }}

),

-- Inlined too: an incremental run reads the owners twice, the wide pass needs their emails, the narrow one not.
customer_id_owners as {{ inline_cte() }} (

    select
        identifier_value as customer_id,
        customer_key,
        email
    from identity
    where identifier_type = 'customer_id'

),

visitor_owners as {{ inline_cte() }} (

    select
        identifier_value as visitor_id,
        customer_key,
        email
    from identity
    where identifier_type = 'visitor_id'

),

{% if is_incremental() %}
{%- set latest = stored_maxima(this, ['loaded_at', 'started_at']) %}

-- Sessions staged since the stored rows were written, or later than every stored one.
changed_sessions as (

    {{ rows_staged_or_admitted_since('sessions_in_window', latest, 'started_at') }}

),

-- Every other stored session without its own email: its person comes from the identity map, which may have
-- changed (a visitor identified since, an earlier sighting of a customer_id arrived). Attributed again here with
-- the ids and keys alone: carrying every column of ~14M stored sessions through the joins cost memory, and
-- when a concurrent model held the rest of the cap the joins spilled all of it to disk (10M: ~6 s became ~15 s).
stored_reattributed as (

    select
        stored.session_id,
        stored.customer_key as stored_customer_key,
        stored.attributed_by as stored_attributed_by,
        -- the precedence of `attributed` below (no email here): the customer_id's owner, else the visitor's
        coalesce(customer_id_owners.customer_key, visitor_owners.customer_key) as customer_key,
        case
            when customer_id_owners.customer_key is not null then 'customer_id'
            when visitor_owners.customer_key is not null then 'visitor_id'
        end as attributed_by
    from {{ this }} as stored
    left join customer_id_owners
        on stored.customer_id = customer_id_owners.customer_id
    left join visitor_owners
        on stored.visitor_id = visitor_owners.visitor_id
    where
        stored.attributed_by is distinct from 'email'
        and stored.session_id not in (select changed_sessions.session_id from changed_sessions)

),

-- The key is derived from the person's email, so an unchanged key means an unchanged email.
reattributed_session_ids as (

    select stored_reattributed.session_id
    from stored_reattributed
    where
        stored_reattributed.customer_key is distinct from stored_reattributed.stored_customer_key
        or stored_reattributed.attributed_by is distinct from stored_reattributed.stored_attributed_by

),

-- Those whose person changed, with all their columns, to be attributed below like the changed sessions.
stored_without_email as (

    select
        stored.session_id,
        stored.visitor_id,
        stored.customer_id,
        cast(null as {{ dbt.type_string() }}) as email,
        stored.order_id,
        stored.device,
        stored.channel,
        stored.page_views,
        stored.cart_adds,
        stored.cart_value,
        stored.started_at,
        stored.ended_at,
        stored.loaded_at,
        stored.person_email as stored_person_email,
        stored.attributed_by as stored_attributed_by,
        false as is_changed
    from {{ this }} as stored
    where {{ rows_with_key_in(this, 'session_id', 'select reattributed_session_ids.session_id from reattributed_session_ids') }}

),

{% endif %}

-- What this run attributes: on a full build every session in the window; on an incremental run the changed
-- sessions and the stored ones whose person changed.
sessions as (

    {% if is_incremental() -%}
        select
            session_id,
            visitor_id,
            customer_id,
            email,
            order_id,
            device,
            channel,
            page_views,
            cart_adds,
            cart_value,
            started_at,
            ended_at,
            loaded_at,
            cast(null as {{ dbt.type_string() }}) as stored_person_email,
            cast(null as {{ dbt.type_string() }}) as stored_attributed_by,
            true as is_changed
        from changed_sessions

        union all

        select * from stored_without_email
    {%- else -%}
        select
            *,
            cast(null as {{ dbt.type_string() }}) as stored_person_email,
            cast(null as {{ dbt.type_string() }}) as stored_attributed_by,
            true as is_changed
        from sessions_in_window
    {%- endif %}

),

attributed as (

    select
        sessions.*,
        case
            when sessions.email is not null then {{ person_key('sessions.email') }}
            when customer_id_owners.customer_key is not null then customer_id_owners.customer_key
            else visitor_owners.customer_key
        end as customer_key,
        coalesce(sessions.email, customer_id_owners.email, visitor_owners.email) as person_email,
        case
            when sessions.email is not null then 'email'
            when customer_id_owners.customer_key is not null then 'customer_id'
            when visitor_owners.customer_key is not null then 'visitor_id'
        end as attributed_by
    from sessions
    left join customer_id_owners
        on sessions.customer_id = customer_id_owners.customer_id
    left join visitor_owners
        on sessions.visitor_id = visitor_owners.visitor_id

),

-- A full build writes every session; an incremental run the changed ones and those attributed differently.
final as (

    select
        -- ids
        session_id,
        customer_key,
        person_email,
        visitor_id,
        customer_id,
        order_id,

        -- attribution
        attributed_by,
        coalesce(attributed_by = 'visitor_id', false) as is_stitched,

        -- attributes
        device,
        channel,

        -- counts and amounts
        page_views,
        cart_adds,
        cart_value,

        -- timestamps
        started_at,
        ended_at,
        -- when staging last (re)derived the session: the next incremental run picks up anything staged later
        loaded_at,
        -- when this model wrote the row: per-person readers re-derive the persons of rows written since their run
        {{ run_loaded_at() }} as attributed_at

    from attributed
    where
        is_changed
        or person_email is distinct from stored_person_email
        or attributed_by is distinct from stored_attributed_by

)

select * from final
