-- Buyers per RFM segment and per (r_score, f_score) cell; all 11 segments and 25 cells have a row.
with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}
    where r_score is not null

),

scores as (

    select 1 as score
    union all
    select 2 as score
    union all
    select 3 as score
    union all
    select 4 as score
    union all
    select 5 as score

),

-- Every cell of the R x F grid with its segment, so empty cells still get a row.
cells as (

    select
        r.score as r_score,
        f.score as f_score,
        {{ rfm_segment('r.score', 'f.score') }} as rfm_segment
    from scores as r
    cross join scores as f

),

per_cell as (

    select
        r_score,
        f_score,
        count(*) as buyers,
        sum(net_revenue) as net_revenue,
        sum(order_count) as orders,
        avg(cast(m_score as {{ type_double() }})) as avg_m_score,
        avg(cast(days_since_last_order as {{ type_double() }})) as avg_days_since_last_order
    from lifecycle
    group by r_score, f_score

),

totals as (

    select count(*) as buyers
    from lifecycle

),

cell_rows as (

    select
        'cell' as summary_level,
        cells.rfm_segment,
        cells.r_score,
        cells.f_score,
        coalesce(per_cell.buyers, 0) as buyers,
        coalesce(per_cell.net_revenue, 0) as net_revenue,
        coalesce(per_cell.orders, 0) as orders,
        per_cell.avg_m_score * per_cell.buyers as m_score_total,
        per_cell.avg_days_since_last_order * per_cell.buyers as days_since_last_order_total
    from cells
    left join per_cell
        on cells.r_score = per_cell.r_score and cells.f_score = per_cell.f_score

),

segment_rows as (

    select
        'segment' as summary_level,
        rfm_segment,
        cast(null as {{ dbt.type_int() }}) as r_score,
        cast(null as {{ dbt.type_int() }}) as f_score,
        sum(buyers) as buyers,
        sum(net_revenue) as net_revenue,
        sum(orders) as orders,
        sum(m_score_total) as m_score_total,
        sum(days_since_last_order_total) as days_since_last_order_total
    from cell_rows
    group by rfm_segment

),

all_rows as (

    select * from segment_rows
    union all
    select * from cell_rows

),

final as (

    select
        -- grain
        all_rows.summary_level,
        all_rows.rfm_segment,
        cast(all_rows.r_score as {{ dbt.type_int() }}) as r_score,
        cast(all_rows.f_score as {{ dbt.type_int() }}) as f_score,

        -- buyers
        cast(all_rows.buyers as {{ dbt.type_bigint() }}) as buyers,
        cast(
            case
                when totals.buyers > 0 then cast(all_rows.buyers as {{ type_double() }}) / totals.buyers
                else 0
            end as {{ type_double() }}
        ) as share_of_buyers,

        -- amounts
        cast(all_rows.net_revenue as {{ type_amount() }}) as net_revenue,
        cast(all_rows.orders as {{ dbt.type_bigint() }}) as orders,
        cast(
            case when all_rows.buyers > 0 then all_rows.m_score_total / all_rows.buyers end as {{ type_double() }}
        ) as avg_m_score,
        cast(
            case when all_rows.buyers > 0 then all_rows.days_since_last_order_total / all_rows.buyers end
            as {{ type_double() }}
        ) as avg_days_since_last_order

    from all_rows
    cross join totals

)

select * from final
