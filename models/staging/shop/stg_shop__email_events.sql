-- Usable email_events, one row per event_id: the landed rows without a defect, de-duplicated by the contract's rule.
with

kept as (

    {{ kept_rows(ref('base_shop__email_events'), ref('base_shop__duplicate_email_events'), 'email_events') }}

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

    from kept

)

select * from final
