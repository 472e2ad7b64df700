-- Rows in quarantine per source and reason: what the run summary and BI show about rejected input.
with

quarantined as (

    {% for name in ['orders', 'sessions', 'newsletter_signups', 'email_events'] %}
        select
            source_name,
            quarantine_reason
        from {{ ref('quarantine_shop__' ~ name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        source_name,
        quarantine_reason,
        count(*) as quarantined_rows
    from quarantined
    group by source_name, quarantine_reason

)

select * from final
