{#- The contract's de-duplication rule per dataset (docs/raw-data-contract.md "Duplicates"): the id, the order in
    which its rows compete (orders keep the latest, the others the earliest row), and the row's own values that
    break the remaining ties. -#}
{% macro deduplication_rule(dataset) -%}
    {%- set rules = {
        'orders': ('order_id', 'ordered_at desc', ['customer_id', 'email', 'status', 'amount']),
        'sessions': ('session_id', 'started_at asc', [
            'visitor_id', 'customer_id', 'email', 'order_id', 'device', 'channel',
            'page_views', 'cart_adds', 'cart_value', 'ended_at_or_null',
        ]),
        'newsletter_signups': ('signup_id', 'signed_up_at asc', ['email', 'signup_source', 'unsubscribed_at']),
        'email_events': ('event_id', 'occurred_at asc', ['email', 'campaign_id', 'event_type']),
    } -%}
    {%- do return(rules[dataset]) -%}
{%- endmacro %}

{#- Every usable row of an id that has more than one, with `duplicate_rank`: 1 for the row the id keeps, 2, 3, …
    for the others (quarantined as duplicates). The kept row is the first by the rule's order, then the later
    file, then the row's own values, so the choice is the same on every run and engine. Few rows: read by the
    staged model (rank 1) and the quarantine (ranks 2 and up), so neither sorts or copies the rest. -#}
{% macro ranked_duplicates(landed, dataset) -%}
    {%- set id_column, order_by, tie_breakers = deduplication_rule(dataset) -%}
    select
        usable.*,
        row_number() over (
            partition by usable.{{ id_column }}
            order by
                usable.{{ order_by }}, usable._source_file desc
                {%- for column in tie_breakers %}, usable.{{ column }} asc nulls last{% endfor %}
        ) as duplicate_rank
    from {{ landed }} as usable
    where
        usable.row_defect is null
        and usable.{{ id_column }} in (
            select repeated.{{ id_column }}
            from {{ landed }} as repeated
            where repeated.row_defect is null
            group by repeated.{{ id_column }}
            having count(*) > 1
        )
{%- endmacro %}

{#- The rows a dataset keeps, one per id: the usable landed rows of ids without duplicates, and the rank-1 row of
    each id with duplicates (`duplicates` is the dataset's ranked_duplicates model). -#}
{% macro kept_rows(landed, duplicates, dataset) -%}
    {%- set id_column = deduplication_rule(dataset)[0] -%}
    select
        usable.*,
        1 as duplicate_rank
    from {{ landed }} as usable
    where
        usable.row_defect is null
        and usable.{{ id_column }} not in (select duplicate.{{ id_column }} from {{ duplicates }} as duplicate)

    union all

    select duplicate.*
    from {{ duplicates }} as duplicate
    where duplicate.duplicate_rank = 1
{%- endmacro %}
