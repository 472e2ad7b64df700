-- The fitted BG/NBD and Gamma-Gamma parameters with the facts of each fit: one row per purpose (`prediction`,
-- as of the as-of date; `backtest`, as of the cutoff), model and parameter. A model that was not fitted has
-- NULL values and its reason.
with

fits as (

    select * from {{ ref('int_btyd__fits') }}

),

as_of as (

    select * from {{ ref('int_lifecycle__as_of_date') }}

),

final as (

    select
        -- fit
        cast(fits.purpose as {{ dbt.type_string() }}) as purpose,
        cast(fits.model as {{ dbt.type_string() }}) as model,  -- noqa: RF04
        cast(fits.parameter as {{ dbt.type_string() }}) as parameter,  -- noqa: RF04
        cast(fits.value as {{ type_double() }}) as value,  -- noqa: RF04

        -- fit facts
        cast(fits.buyers as {{ dbt.type_bigint() }}) as buyers,
        cast(fits.log_likelihood as {{ type_double() }}) as log_likelihood,
        fits.converged,
        cast(fits.iterations as {{ dbt.type_int() }}) as iterations,
        cast(fits.frequency_monetary_correlation as {{ type_double() }}) as frequency_monetary_correlation,
        cast(fits.reason as {{ dbt.type_string() }}) as reason,

        -- dates
        cast(
            case
                when fits.purpose = 'backtest'
                    then {{ dbt.dateadd('day', -1 * var('prediction_horizon_days'), 'as_of.as_of_date') }}
                else as_of.as_of_date
            end
            as date
        ) as fit_as_of_date,
        as_of.as_of_date

    from fits
    cross join as_of

)

select * from final
