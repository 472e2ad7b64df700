-- Usable newsletter_signups, one row per signup_id: the landed rows without a defect, de-duplicated by the
-- contract's rule.
with

kept as (

    {{ kept_rows(
        ref('base_shop__newsletter_signups'),
        ref('base_shop__duplicate_newsletter_signups'),
        'newsletter_signups',
    ) }}

),

final as (

    select
        -- ids
        signup_id,
        email,

        -- attributes
        signup_source,

        -- timestamps
        signed_up_at,
        unsubscribed_at

    from kept

)

select * from final
