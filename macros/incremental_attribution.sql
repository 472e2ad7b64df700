{#- Building blocks of the incremental int_sessions__attributed (README "Incremental refresh and history"). -#}

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

{#- Pre-hook of int_sessions__attributed: before an incremental run writes the sessions that changed, delete the
    stored sessions that no longer belong in the model —
      - those at or after the as-of end (the as-of date moved back), and
      - those whose staging group was re-derived since the stored rows were written (a base row newer than the
        newest stored `loaded_at`) and that are no longer a usable session inside the window: quarantined now
        (e.g. a duplicate that lost), or moved past the as-of end by an edit.
    Sessions that are still usable are not deleted here: the model writes them again (delete+insert).
    `sessions_base` is base_shop__sessions (every raw row, quarantined ones too), `sessions` stg_shop__sessions. -#}
{% macro delete_sessions_gone_from_attribution(sessions_base, sessions, as_of) -%}
    {%- if is_incremental() %}
        {%- set latest_loaded_at = stored_maxima(this, ['loaded_at'])['loaded_at'] %}
        delete from {{ this }}
        where started_at >= (select as_of_end_at from {{ as_of }});

        {% if latest_loaded_at is not none -%}
        delete from {{ this }}
        where session_id in (
            select restaged.session_id
            from {{ sessions_base }} as restaged
            where restaged.loaded_at > {{ timestamp_literal(latest_loaded_at) }}

            except

            select usable.session_id
            from {{ sessions }} as usable
            where
                usable.loaded_at > {{ timestamp_literal(latest_loaded_at) }}
                and usable.started_at < (select as_of_end_at from {{ as_of }})
        )
        {%- endif %}
    {%- endif %}
{%- endmacro %}
