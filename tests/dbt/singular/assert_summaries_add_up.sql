-- lifecycle_summary has the five stages and counts every person once; rfm_summary's segment rows and cell
-- rows each count every buyer once. Returns a row per broken total.
with

lifecycle as (

    select
        count(*) as persons,
        sum(case when r_score is not null then 1 else 0 end) as buyers
    from {{ ref('customer_lifecycle') }}

),

stage_totals as (

    select
        count(*) as stage_rows,
        sum(persons) as persons
    from {{ ref('lifecycle_summary') }}

),

rfm_totals as (

    select
        count(*) as summary_rows,
        sum(case when summary_level = 'segment' then buyers else 0 end) as segment_buyers,
        sum(case when summary_level = 'cell' then buyers else 0 end) as cell_buyers
    from {{ ref('rfm_summary') }}

),

checks as (

    select
        'lifecycle_summary persons' as check_name,
        stage_totals.persons as actual,
        lifecycle.persons as expected
    from stage_totals cross join lifecycle

    union all

    select
        'lifecycle_summary stages' as check_name,
        stage_totals.stage_rows as actual,
        5 as expected
    from stage_totals

    union all

    select
        'rfm_summary segment buyers' as check_name,
        rfm_totals.segment_buyers as actual,
        lifecycle.buyers as expected
    from rfm_totals cross join lifecycle

    union all

    select
        'rfm_summary cell buyers' as check_name,
        rfm_totals.cell_buyers as actual,
        lifecycle.buyers as expected
    from rfm_totals cross join lifecycle

    union all

    select
        'rfm_summary rows (11 segments + 25 cells)' as check_name,
        rfm_totals.summary_rows as actual,
        36 as expected
    from rfm_totals

),

final as (

    select *
    from checks
    where coalesce(actual, 0) != coalesce(expected, 0)

)

select * from final
