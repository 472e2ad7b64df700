-- Email engagement per known person in the engagement window (the as-of date and the
-- engagement_window_days days before it): opens, clicks, sessions from email, deliveries. Counted per email
-- and joined to the persons once (emails of events that belong to no known person are dropped by that join).
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

-- The window as a range of instants: a plain comparison per event, not a date difference (twice as fast).
engagement_window as (

    select
        as_of_end_at,
        cast(
            {{ dbt.dateadd('day', -1 * var('engagement_window_days') | int, 'as_of_date') }}
            as {{ dbt.type_timestamp() }}
        ) as window_start_at
    from as_of

),

persons as (

    select * from {{ ref('int_persons__identified') }}

),

email_events as (

    select
        events.email,
        events.event_type,
        events.occurred_at
    from {{ ref('stg_shop__email_events') }} as events
    cross join engagement_window
    where
        events.occurred_at >= engagement_window.window_start_at
        and events.occurred_at < engagement_window.as_of_end_at

),

email_sessions as (

    select
        sessions.person_email,
        sessions.started_at
    from {{ ref('int_sessions__attributed') }} as sessions
    cross join engagement_window
    where
        sessions.channel = 'email'
        and sessions.person_email is not null
        and sessions.started_at >= engagement_window.window_start_at

),

event_counts as (

    select
        email_events.email,
        sum(case when email_events.event_type = 'delivered' then 1 else 0 end) as deliveries,
        sum(case when email_events.event_type = 'open' then 1 else 0 end) as opens,
        sum(case when email_events.event_type = 'click' then 1 else 0 end) as clicks,
        max(
            case when email_events.event_type in ('open', 'click') then email_events.occurred_at end
        ) as last_engaged_at
    from email_events
    group by email_events.email

),

session_counts as (

    select
        person_email,
        count(*) as email_sessions,
        max(started_at) as last_email_session_at
    from email_sessions
    group by person_email

),

joined as (

    select
        persons.customer_key,
        coalesce(event_counts.deliveries, 0) as deliveries,
        coalesce(event_counts.opens, 0) as opens,
        coalesce(event_counts.clicks, 0) as clicks,
        coalesce(session_counts.email_sessions, 0) as email_sessions,
        event_counts.last_engaged_at,
        session_counts.last_email_session_at
    from persons
    left join event_counts
        on persons.email = event_counts.email
    left join session_counts
        on persons.email = session_counts.person_email

),

final as (

    select
        -- ids
        customer_key,

        -- counts in the window
        cast(deliveries as {{ dbt.type_bigint() }}) as deliveries_in_window,
        cast(opens as {{ dbt.type_bigint() }}) as opens_in_window,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks_in_window,
        cast(email_sessions as {{ dbt.type_bigint() }}) as email_sessions_in_window,

        -- engagement
        case
            when opens + clicks + email_sessions > 0 then 'warm'
            when deliveries >= {{ var('cold_min_deliveries') }} then 'cold'
            else 'unknown'
        end as engagement,

        -- timestamps
        last_engaged_at,
        last_email_session_at

    from joined

)

select * from final
