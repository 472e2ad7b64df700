-- Email engagement per known person in the engagement window (the as-of date and the
-- engagement_window_days days before it): opens, clicks, sessions from email, deliveries.
with

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

persons as (

    select * from {{ ref('int_customers__identity') }}
    where identifier_type = 'email'

),

email_events as (

    select
        events.email,
        events.event_type,
        events.occurred_at
    from {{ ref('stg_shop__email_events') }} as events
    cross join as_of
    where
        events.occurred_at < as_of.as_of_end_at
        and {{ dbt.datediff('cast(events.occurred_at as date)', 'as_of.as_of_date', 'day') }}
        <= {{ var('engagement_window_days') }}

),

email_sessions as (

    select
        sessions.customer_key,
        sessions.started_at
    from {{ ref('int_sessions__attributed') }} as sessions
    cross join as_of
    where
        sessions.channel = 'email'
        and sessions.customer_key is not null
        and {{ dbt.datediff('cast(sessions.started_at as date)', 'as_of.as_of_date', 'day') }}
        <= {{ var('engagement_window_days') }}

),

event_counts as (

    select
        persons.customer_key,
        sum(case when email_events.event_type = 'delivered' then 1 else 0 end) as deliveries,
        sum(case when email_events.event_type = 'open' then 1 else 0 end) as opens,
        sum(case when email_events.event_type = 'click' then 1 else 0 end) as clicks,
        max(
            case when email_events.event_type in ('open', 'click') then email_events.occurred_at end
        ) as last_engaged_at
    from persons
    inner join email_events
        on persons.email = email_events.email
    group by persons.customer_key

),

session_counts as (

    select
        customer_key,
        count(*) as email_sessions,
        max(started_at) as last_email_session_at
    from email_sessions
    group by customer_key

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
        on persons.customer_key = event_counts.customer_key
    left join session_counts
        on persons.customer_key = session_counts.customer_key

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
