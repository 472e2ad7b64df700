-- Usable email_events, one row per event_id: the landed rows without a defect, de-duplicated by the contract's rule.
with

ranked as (

    {{ ranked_landed_rows(ref('base_shop__email_events'), 'email_events') }}

),

final as (

    select
        -- ids
        event_id,
        email,
        campaign_id,

        -- attributes
        event_type,

        -- timestamps
        occurred_at

    from ranked
    where duplicate_rank = 1

)

select * from final
