-- Sessions per known person (email): how many, when last seen, and the device / channel used most (most
-- sessions wins; ties go to the most recently used, then the name).
with

sessions as (

    select * from {{ ref('int_sessions__attributed') }}
    where person_email is not null

),

device_counts as (

    select
        person_email,
        device,
        count(*) as sessions,
        max(started_at) as last_started_at
    from sessions
    group by person_email, device

),

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
    from sessions
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
    from sessions
    group by person_email

),

final as (

    select
        -- ids
        totals.person_email as email,
        -- every person_email is a known person's email, whose customer_key is the same person_key
        {{ person_key('totals.person_email') }} as customer_key,

        -- counts
        cast(totals.sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(totals.stitched_sessions as {{ dbt.type_bigint() }}) as stitched_sessions,

        -- attributes
        device_ranked.device as main_device,
        channel_ranked.channel as main_channel,

        -- timestamps
        totals.last_seen_at

    from totals
    inner join device_ranked
        on totals.person_email = device_ranked.person_email and device_ranked.device_rank = 1
    inner join channel_ranked
        on totals.person_email = channel_ranked.person_email and channel_ranked.channel_rank = 1

)

select * from final
