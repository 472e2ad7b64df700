-- How good the prediction is, measured on this shop's own data: BG/NBD fitted as of the cutoff (as-of date −
-- prediction_horizon_days) predicts each buyer's purchase days in the horizon after it, which have happened
-- since. Per decile of predicted purchase days, for all buyers, and for the buyers the stage rule called lapsed
-- at the cutoff (how many came back). Sums of doubles are exact (exact_sum), so a re-run gives the same bits.
{#- The measures of every row: per decile, for all buyers, for the buyers lapsed by rule. -#}
{%- set measures -%}
        count(*) as buyers,
        {{ exact_sum('predicted_purchase_days') }} as predicted_purchase_days,
        sum(actual_purchase_days) as actual_purchase_days,
        {{ exact_sum('abs(predicted_purchase_days - actual_purchase_days)') }} as absolute_error,
        sum(case when actual_purchase_days > 0 then 1 else 0 end) as buyers_who_bought,
        {{ exact_sum('p_alive') }} as p_alive_sum
{%- endset %}

with

predictions as (

    select * from {{ ref('int_customers__backtest_predictions') }}

),

fits as (

    select * from {{ ref('btyd_parameters') }}

),

fit_status as (

    select
        max(fit_as_of_date) as cutoff_date,
        max(as_of_date) as as_of_date,
        max(reason) as reason
    from fits
    where purpose = 'backtest' and model = 'bg_nbd'

),

-- Decile 1 = the tenth of buyers with the fewest predicted purchase days, 10 = the most (ties in order of
-- customer_key, so re-runs agree). Only where the fit gave predictions.
ranked as (

    select
        *,
        ntile(10) over (order by predicted_purchase_days, customer_key) as decile
    from predictions
    where predicted_purchase_days is not null

),

grouped as (

    select
        'decile' as segment,
        decile,
        {{ measures }}
    from ranked
    group by decile

    union all

    select
        'all' as segment,
        null as decile,
        {{ measures }}
    from predictions

    union all

    select
        'lapsed_by_rule' as segment,
        null as decile,
        {{ measures }}
    from predictions
    where was_lapsed

),

final as (

    select
        -- segment
        cast(grouped.segment as {{ dbt.type_string() }}) as segment,
        cast(grouped.decile as {{ dbt.type_int() }}) as decile,

        -- buyers
        cast(grouped.buyers as {{ dbt.type_bigint() }}) as buyers,
        cast(coalesce(grouped.buyers_who_bought, 0) as {{ dbt.type_bigint() }}) as buyers_who_bought,
        case
            when grouped.buyers > 0
                then cast(grouped.buyers_who_bought as {{ type_double() }}) / grouped.buyers
        end as share_who_bought,

        -- predicted vs actual purchase days in the horizon
        cast(grouped.predicted_purchase_days as {{ type_double() }}) as predicted_purchase_days,
        cast(coalesce(grouped.actual_purchase_days, 0) as {{ dbt.type_bigint() }}) as actual_purchase_days,
        cast(grouped.predicted_purchase_days as {{ type_double() }}) / nullif(grouped.buyers, 0)
            as mean_predicted_purchase_days,
        cast(grouped.actual_purchase_days as {{ type_double() }}) / nullif(grouped.buyers, 0)
            as mean_actual_purchase_days,
        cast(grouped.absolute_error as {{ type_double() }}) / nullif(grouped.buyers, 0) as mean_absolute_error,
        cast(grouped.predicted_purchase_days - grouped.actual_purchase_days as {{ type_double() }})
        / nullif(grouped.buyers, 0) as bias,
        cast(grouped.p_alive_sum as {{ type_double() }}) / nullif(grouped.buyers, 0) as mean_p_alive,

        -- the backtest
        cast({{ var('prediction_horizon_days') }} as {{ dbt.type_int() }}) as horizon_days,
        fit_status.cutoff_date,
        fit_status.as_of_date,
        cast(fit_status.reason as {{ dbt.type_string() }}) as reason

    from grouped
    cross join fit_status

)

select * from final
