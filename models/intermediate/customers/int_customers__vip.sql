-- VIP flags per buyer (rules version 2). The ranked buyers are the buyers who are not lapsed: vip_score = mean
-- of the percent_ranks of purchase_days, net_revenue and recency_days among them, and the best var vip_share of
-- them by vip_score (ties: more revenue, then the lower customer_key) are VIPs. A lapsed buyer is never VIP: it
-- is scored against the ranked buyers as if it were one of them, and was_vip marks the lapsed buyers who would
-- rank inside the VIP share (for win-back).
{{ config(materialized='view') }}

with

order_facts as (

    select * from {{ ref('int_customers__order_facts') }}
    where purchase_days is not null

),

stages as (

    select * from {{ ref('int_customers__stages') }}

),

buyers as (

    select
        order_facts.customer_key,
        order_facts.purchase_days,
        order_facts.net_revenue,
        order_facts.recency_days,
        stages.lifecycle_stage = 'lapsed' as is_lapsed
    from order_facts
    inner join stages
        on order_facts.customer_key = stages.customer_key

),

ranked_buyer_count as (

    select count(*) as ranked_buyers
    from buyers
    where not is_lapsed

),

-- Each value's rank among the ranked buyers (1 + ranked buyers with a lower value), for every buyer's value:
-- a lapsed buyer's rank is where it would stand among them.
purchase_day_ranks as (

    {{ rank_by_value_counts('buyers', 'purchase_days', 'asc', counted='not is_lapsed') }}

),

revenue_ranks as (

    {{ rank_by_value_counts('buyers', 'net_revenue', 'asc', counted='not is_lapsed') }}

),

recency_ranks as (

    {{ rank_by_value_counts('buyers', 'recency_days', 'asc', counted='not is_lapsed') }}

),

-- percent_rank = (rank − 1) / (rows − 1) over the rows ranked: the ranked buyers, plus the lapsed buyer itself.
compared as (

    select
        buyers.customer_key,
        buyers.net_revenue,
        buyers.is_lapsed,
        ranked_buyer_count.ranked_buyers,
        purchase_day_ranks.value_rank as purchase_day_rank,
        revenue_ranks.value_rank as revenue_rank,
        recency_ranks.value_rank as recency_rank,
        case
            when buyers.is_lapsed then ranked_buyer_count.ranked_buyers + 1
            else ranked_buyer_count.ranked_buyers
        end as compared_rows
    from buyers
    cross join ranked_buyer_count
    left join purchase_day_ranks
        on buyers.purchase_days = purchase_day_ranks.purchase_days
    left join revenue_ranks
        on buyers.net_revenue = revenue_ranks.net_revenue
    left join recency_ranks
        on buyers.recency_days = recency_ranks.recency_days

),

scored as (

    select
        customer_key,
        net_revenue,
        is_lapsed,
        ranked_buyers,
        (
            {{ percent_rank_from_rank('purchase_day_rank', 'compared_rows') }}
            + {{ percent_rank_from_rank('revenue_rank', 'compared_rows') }}
            + {{ percent_rank_from_rank('recency_rank', 'compared_rows') }}
        ) / 3.0 as vip_score
    from compared

),

-- Ranked buyers ahead of each buyer in the VIP order; lapsed buyers hold no place in it.
ordered as (

    select
        *,
        coalesce(
            sum(case when is_lapsed then 0 else 1 end) over (
                order by vip_score desc nulls last, net_revenue desc nulls last, customer_key asc nulls last
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as ranked_buyers_ahead
    from scored

),

final as (

    select
        -- ids
        customer_key,

        -- vip
        cast(vip_score as {{ type_double() }}) as vip_score,
        not is_lapsed and ranked_buyers_ahead + 1 <= {{ var('vip_share') }} * ranked_buyers as is_vip,
        is_lapsed and ranked_buyers_ahead + 1 <= {{ var('vip_share') }} * ranked_buyers as was_vip

    from ordered

)

select * from final
