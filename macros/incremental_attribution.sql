{#- Building blocks of the models kept incrementally by load time (README "Incremental refresh and history"). -#}

{#- The newest stored value of each of `columns` in `relation`, read when the model is compiled — before its
    pre-hook changes anything — as {column: value}; values are None when the relation is empty. Used as literals,
    so that the engine can skip the storage blocks of older rows (DuckDB's min/max zone maps) instead of reading
    every row to compare it with a subquery's result. -#}
{% macro stored_maxima(relation, columns) -%}
    {%- set maxima = {} -%}
    {%- if execute -%}
        {%- set stored_columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {%- set missing = columns | reject('in', stored_columns) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                relation ~ " has no column " ~ (missing | join(', ')) ~ ": it was built by an older version of this "
                ~ "project. Run once with --full-refresh (the stage history is kept)."
            ) }}
        {%- endif -%}
        {%- set selects = [] -%}
        {%- for column in columns -%}
            {%- do selects.append('max(' ~ column ~ ')') -%}
        {%- endfor -%}
        {%- set row = run_query('select ' ~ (selects | join(', ')) ~ ' from ' ~ relation).rows[0] -%}
        {%- for column in columns -%}
            {%- do maxima.update({column: row[loop.index0]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(maxima) }}
{%- endmacro %}

{#- A timestamp value from the database (or its text) as a SQL literal. -#}
{% macro timestamp_literal(value) -%}
    cast('{{ value }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Pre-hook of the models kept incrementally by load time (int_sessions__attributed, fct_orders): before a run
    writes the rows that changed, delete the stored rows that no longer belong in the model —
      - those at or after the as-of end (the as-of date moved back), and
      - those whose staging group was re-derived since the stored rows were written (a base row newer than the
        newest stored `loaded_at`) and that are no longer a usable row inside the window: quarantined now
        (e.g. a duplicate that lost), or moved past the as-of end by an edit.
    Rows that are still usable are not deleted here: the model writes them again (delete+insert).
    `base` is the base model (every raw row, quarantined ones too), `staged` its stg_ view (the usable rows), `key`
    the model's unique key and `time_column` the timestamp the as-of window applies to. -#}
{% macro delete_rows_that_left_the_window(base, staged, key, time_column, as_of) -%}
    {%- if is_incremental() %}
        {%- set latest_loaded_at = stored_maxima(this, ['loaded_at'])['loaded_at'] %}
        delete from {{ this }}
        where {{ time_column }} >= (select as_of_end_at from {{ as_of }});

        {% if latest_loaded_at is not none -%}
        delete from {{ this }}
        where {{ key }} in (
            select restaged.{{ key }}
            from {{ base }} as restaged
            where restaged.loaded_at > {{ timestamp_literal(latest_loaded_at) }}

            except

            select usable.{{ key }}
            from {{ staged }} as usable
            where
                usable.loaded_at > {{ timestamp_literal(latest_loaded_at) }}
                and usable.{{ time_column }} < (select as_of_end_at from {{ as_of }})
        )
        {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- The rows of `relation` (a CTE with `loaded_at` and `time_column`) an incremental run must write: staged after
    the stored rows were written (new, late, or re-derived: staging gives every row of a touched id a new
    loaded_at), and later than every stored row (inside the window since the as-of date moved forward; none is
    missed, no stored row is later). `latest` is stored_maxima(this, ['loaded_at', time_column]); all rows when
    the table is empty. -#}
{% macro rows_staged_or_admitted_since(relation, latest, time_column) -%}
    {%- if latest.loaded_at is none -%}
        select * from {{ relation }}
    {%- else -%}
        select * from {{ relation }}
        where {{ relation }}.loaded_at > {{ timestamp_literal(latest.loaded_at) }}

        union all

        select * from {{ relation }}
        where
            {{ relation }}.{{ time_column }} > {{ timestamp_literal(latest[time_column]) }}
            and {{ relation }}.loaded_at <= {{ timestamp_literal(latest.loaded_at) }}
    {%- endif -%}
{%- endmacro %}
