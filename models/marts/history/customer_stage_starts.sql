-- One row per person per change of stage in customer_stage_history: the date the person entered the stage
-- (lifecycle_stage NULL: stopped being known) and the stage before (NULL: newly known). History rows that only
-- record a change of an overlay are left out.
with

history as (

    select * from {{ ref('customer_stage_history') }}

),

with_previous as (

    select
        customer_key,
        valid_from,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_key order by valid_from asc nulls last) as previous_stage
    from history

),

final as (

    select
        -- ids
        customer_key,

        -- dates
        valid_from,

        -- stages
        lifecycle_stage,
        previous_stage

    from with_previous
    where lifecycle_stage is distinct from previous_stage

)

select * from final
