-- RFM scores 1-5 per buyer (person with at least one purchase) and the named segment of its (R, F) cell.
-- Each score is 1 + floor(5 × percent_rank) in the "better" direction, so equal values share a score:
-- R from days_since_last_order (fewer is better), F from purchase_days (rules version 2: several orders on one
-- day are one purchase, as for the stage and BTYD), M from net_revenue.
with

buyers as (

    select * from {{ ref('int_customers__order_facts') }}
    where purchase_days is not null

),

buyer_count as (

    select count(*) as buyers
    from buyers

),

-- Recency and purchase days are whole numbers with few distinct values: ranked from per-value counts rather
-- than by sorting every buyer. Never NULL for a buyer, so joined on `=`.
recency_ranks as (

    {{ rank_by_value_counts('buyers', 'days_since_last_order', 'desc') }}

),

purchase_day_ranks as (

    {{ rank_by_value_counts('buyers', 'purchase_days', 'asc') }}

),

-- Revenue has too many distinct values for per-value counts: a real window.
buyer_ranks as (

    select
        buyers.customer_key,
        recency_ranks.value_rank as r_rank,
        purchase_day_ranks.value_rank as f_rank,
        rank() over (order by buyers.net_revenue asc nulls last) as m_rank
    from buyers
    left join recency_ranks
        on buyers.days_since_last_order = recency_ranks.days_since_last_order
    left join purchase_day_ranks
        on buyers.purchase_days = purchase_day_ranks.purchase_days

),

scored as (

    select
        buyer_ranks.customer_key,
        {{ score_from_rank('buyer_ranks.r_rank', 'buyer_count.buyers') }} as r_score,
        {{ score_from_rank('buyer_ranks.f_rank', 'buyer_count.buyers') }} as f_score,
        {{ score_from_rank('buyer_ranks.m_rank', 'buyer_count.buyers') }} as m_score
    from buyer_ranks
    cross join buyer_count

),

final as (

    select
        -- ids
        customer_key,

        -- scores
        r_score,
        f_score,
        m_score,
        {{ rfm_segment('r_score', 'f_score') }} as rfm_segment

    from scored

)

select * from final
