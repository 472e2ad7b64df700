{#- Incremental models that are kept equal to their query (README "Incremental refresh and history").

    Such a model computes all of its rows on every run, but stores only the difference: the rows that are new or
    changed (`select … except select * from this`) go through delete+insert on the unique key, and the rows whose
    key is gone from the source are deleted by this post-hook. The stored table then equals a full rebuild whatever
    happened upstream — late or edited rows, re-attribution, an as-of date that moved backwards or jumped — and a
    quiet night writes a day's rows instead of the whole table. -#}
{% macro delete_rows_missing_from(target, key, source) -%}
    delete from {{ target }}
    where {{ key }} not in (select source_rows.{{ key }} from {{ source }} as source_rows)
{%- endmacro %}
