{#- The project's one incremental mechanism (docs/design.md "Landing"): a `landed` model appends, typed, the raw
    rows of batches it has not stored yet, and rebuilds whole when it cannot append.

    A batch is one raw file of a dataset folder (DuckDB) or one `_source_file` value of a raw table (warehouses);
    batches are immutable once landed, so a stored batch is never read again. The model's select reads the
    source and must carry `_source_file`; this materialization runs it
      - whole (drop, create table as) on the first run, on --full-refresh, for a dataset given as one file (it is
        rewritten in place, so it is reloaded every run), when a stored batch is no longer offered (a file
        was removed, or the dataset switched between file and folder), or when the stored table has other
        columns than the select (the model changed, or the table predates landing);
      - else as `insert into` of the rows of the new batches only, named as literals so that DuckDB opens only
        their files; nothing at all when no batch is new.
    Needs no DELETE or MERGE, so it runs unchanged on engines without row deletes. Config: `dataset` (the
    source table name in source `shop`). On DuckDB, the CSV records the reader set aside while the statement
    ran are landed after it, as rows with a defect (macros/rejected_records.sql). -#}
{% materialization landed, default %}
    {%- set target = this.incorporate(type='table') -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- set offered = offered_batches(config.require('dataset')) -%}
    {%- set stored = [] -%}
    {%- set appendable = existing is not none and not should_full_refresh() and offered is not none
        and _same_columns(existing, sql) -%}
    {%- if appendable -%}
        {%- set stored = run_query('select distinct _source_file from ' ~ existing).columns[0].values() | list -%}
    {%- endif -%}
    {%- set appending = appendable and stored | reject('in', offered) | list | length == 0 -%}
    {%- set new_batches = offered | reject('in', stored) | list if appending else [] -%}

    {{ run_hooks(pre_hooks) }}
    {%- do clear_rejected_records(config.require('dataset')) -%}
    {%- if not appending %}
        {%- if existing is not none %}{% do adapter.drop_relation(existing) %}{% endif %}
        {%- call statement('main') -%}
            {{ get_create_table_as_sql(False, target, sql) }}
        {%- endcall -%}
        {%- do land_rejected_records(target, config.require('dataset'), none) -%}
    {%- elif new_batches %}
        {%- call statement('main') -%}
            insert into {{ target }}
            select * from ({{ sql }}) as landed_rows
            where _source_file in ({% for batch in new_batches %}'{{ batch | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor %})
        {%- endcall -%}
        {%- do land_rejected_records(target, config.require('dataset'), new_batches) -%}
    {%- else %}
        {%- call statement('main') -%}
            select 1 as nothing_new
        {%- endcall -%}
    {%- endif %}
    {{ run_hooks(post_hooks) }}
    {% do adapter.commit() %}
    {{ return({'relations': [target]}) }}
{% endmaterialization %}

{#- True when the stored table `relation` has exactly the columns of the model's select `sql` (names, in order). -#}
{% macro _same_columns(relation, sql) -%}
    {%- set stored = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set wanted = get_column_schema_from_query(sql) | map(attribute='name') | map('lower') | list -%}
    {{ return(stored == wanted) }}
{%- endmacro %}

{#- The batches the raw source of `dataset` offers now, as a list of `_source_file` values; none when the dataset
    is one file that is reloaded whole on every run. -#}
{% macro offered_batches(dataset) -%}
    {{ return(adapter.dispatch('offered_batches', 'customer_lifecycle')(dataset)) }}
{%- endmacro %}

{#- Warehouses: the raw table's batch names (an EL tool lands one `_source_file` value per batch). -#}
{% macro default__offered_batches(dataset) -%}
    {%- set source_relation = source('shop', dataset) -%}
    {{ return(run_query('select distinct _source_file from ' ~ source_relation).columns[0].values() | list) }}
{%- endmacro %}

{#- DuckDB: the files of a dataset folder, by name (listed, not read); none for a single file. -#}
{% macro duckdb__offered_batches(dataset) -%}
    {%- set raw_input = find_raw_input(var('raw_dir') | string | trim, dataset) -%}
    {{ return(raw_input.files | list if raw_input.folder else none) }}
{%- endmacro %}
