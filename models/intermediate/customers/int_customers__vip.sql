-- VIP flag per buyer: vip_score = mean of the percent_ranks of order_count, tenure_days and net_revenue; the
-- best var vip_share of all buyers by vip_score (ties: more revenue, then the lower customer_key) are VIPs.
{{ config(materialized='view') }}

with

buyers as (

    select * from {{ ref('int_customers__order_facts') }}
    where purchase_days is not null

),

buyer_count as (

    select count(*) as buyers
    from buyers

),

-- Whole numbers with few distinct values: ranked from per-value counts rather than by sorting every buyer.
order_count_ranks as (

    {{ rank_by_value_counts('buyers', 'order_count', 'asc') }}

),

tenure_ranks as (

    {{ rank_by_value_counts('buyers', 'tenure_days', 'asc') }}

),

scored as (

    select
        buyers.customer_key,
        buyers.net_revenue,
        buyer_count.buyers,
        (
            {{ percent_rank_from_rank('order_count_ranks.value_rank', 'buyer_count.buyers') }}
            + {{ percent_rank_from_rank('tenure_ranks.value_rank', 'buyer_count.buyers') }}
            + percent_rank() over (order by buyers.net_revenue asc nulls last)
        ) / 3.0 as vip_score
    from buyers
    cross join buyer_count
    left join order_count_ranks
        on buyers.order_count = order_count_ranks.order_count
    left join tenure_ranks
        on buyers.tenure_days = tenure_ranks.tenure_days

),

ranked as (

    select
        *,
        row_number() over (
            order by vip_score desc nulls last, net_revenue desc nulls last, customer_key asc nulls last
        ) as vip_rank
    from scored

),

final as (

    select
        -- ids
        customer_key,

        -- vip
        cast(vip_score as {{ type_double() }}) as vip_score,
        vip_rank <= {{ var('vip_share') }} * buyers as is_vip

    from ranked

)

select * from final
