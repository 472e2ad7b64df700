{#- The contract's de-duplication rule per dataset (docs/raw-data-contract.md "Duplicates"): the id, the order in
    which its rows compete (orders keep the latest, the others the earliest row), and the row's own values that
    break the remaining ties. Read by the staged and the quarantine model of each dataset. -#}
{% macro ranked_landed_rows(landed, dataset) -%}
    {%- set rules = {
        'orders': ('order_id', 'ordered_at desc', ['customer_id', 'email', 'status', 'amount']),
        'sessions': ('session_id', 'started_at asc', [
            'visitor_id', 'customer_id', 'email', 'order_id', 'device', 'channel',
            'page_views', 'cart_adds', 'cart_value', 'ended_at_or_null',
        ]),
        'newsletter_signups': ('signup_id', 'signed_up_at asc', ['email', 'signup_source', 'unsubscribed_at']),
        'email_events': ('event_id', 'occurred_at asc', ['email', 'campaign_id', 'event_type']),
    } -%}
    {%- set id_column, order_by, tie_breakers = rules[dataset] -%}
    {{ ranked_by_id(landed, id_column, order_by, tie_breakers) }}
{%- endmacro %}

{#- The usable rows of the landed model `relation`, each with `duplicate_rank`: 1 for the row an id keeps, 2, 3, …
    for its other rows (quarantined as duplicates). The kept row is the first by `order_by` (the contract's rule,
    e.g. 'ordered_at desc'), then the later file, then the row's own values `tie_breakers`, so the choice is the
    same on every run and engine. Only ids with more than one usable row are ranked: a sort of the few, not of
    every row. -#}
{% macro ranked_by_id(relation, id_column, order_by, tie_breakers) -%}
    select
        usable.*,
        1 as duplicate_rank
    from {{ relation }} as usable
    where
        usable.row_defect is null
        and usable.{{ id_column }} not in ({{ _repeated_ids(relation, id_column) }})

    union all

    select
        usable.*,
        row_number() over (
            partition by usable.{{ id_column }}
            order by
                usable.{{ order_by }}, usable._source_file desc
                {%- for column in tie_breakers %}, usable.{{ column }} asc nulls last{% endfor %}
        ) as duplicate_rank
    from {{ relation }} as usable
    where
        usable.row_defect is null
        and usable.{{ id_column }} in ({{ _repeated_ids(relation, id_column) }})
{%- endmacro %}

{% macro _repeated_ids(relation, id_column) -%}
    select repeated.{{ id_column }}
    from {{ relation }} as repeated
    where repeated.row_defect is null
    group by repeated.{{ id_column }}
    having count(*) > 1
{%- endmacro %}
