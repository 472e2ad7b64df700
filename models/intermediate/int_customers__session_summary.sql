-- Sessions per known person: how many, when last seen, and the device / channel used most.
with

sessions as (

    select * from {{ ref('int_sessions__attributed') }}
    where customer_key is not null

),

device_counts as (

    select
        customer_key,
        device,
        count(*) as sessions,
        max(started_at) as last_started_at
    from sessions
    group by customer_key, device

),

-- Most sessions wins; ties go to the most recently used, then the name.
device_ranked as (

    select
        customer_key,
        device,
        row_number() over (
            partition by customer_key
            order by sessions desc nulls last, last_started_at desc nulls last, device asc nulls last
        ) as device_rank
    from device_counts

),

channel_counts as (

    select
        customer_key,
        channel,
        count(*) as sessions,
        max(started_at) as last_started_at
    from sessions
    group by customer_key, channel

),

channel_ranked as (

    select
        customer_key,
        channel,
        row_number() over (
            partition by customer_key
            order by sessions desc nulls last, last_started_at desc nulls last, channel asc nulls last
        ) as channel_rank
    from channel_counts

),

totals as (

    select
        customer_key,
        count(*) as sessions,
        sum(case when is_stitched then 1 else 0 end) as stitched_sessions,
        max(ended_at) as last_seen_at
    from sessions
    group by customer_key

),

final as (

    select
        -- ids
        totals.customer_key,

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
        on totals.customer_key = device_ranked.customer_key and device_ranked.device_rank = 1
    inner join channel_ranked
        on totals.customer_key = channel_ranked.customer_key and channel_ranked.channel_rank = 1

)

select * from final
