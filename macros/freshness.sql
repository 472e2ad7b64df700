{#- Newest usable timestamp of a raw dataset, for `dbt source freshness` (loaded_at_query in
    _shop__sources.yml). The raw views are text: unparseable values are ignored, and so are timestamps beyond
    the quarantine's future cutoff, so one bad row can neither fail the check nor make a stale export look
    fresh.

    On DuckDB, for a dataset that is a folder of files, the files loaded before are not parsed again when var
    `freshness_published_database` names the published warehouse (the driver passes it on a normal run): their
    timestamps are already stored, typed by the same macro, in the dataset's base model, and files are
    immutable once loaded. Only the files not loaded yet are parsed. Anything unexpected (no such table, a
    loaded file that is gone, a single-file dataset) falls back to parsing every file. -#}
{% macro raw_freshness_query(table_name, timestamp_column) -%}
    {{ return(adapter.dispatch('raw_freshness_query', 'customer_lifecycle')(table_name, timestamp_column)) }}
{%- endmacro %}

{% macro default__raw_freshness_query(table_name, timestamp_column) -%}
    {{ return(_newest_usable_timestamp(table_name, timestamp_column, none, none)) }}
{%- endmacro %}

{% macro duckdb__raw_freshness_query(table_name, timestamp_column) -%}
    {%- set stored = _published_base_model(table_name, timestamp_column) -%}
    {%- if stored is none -%}
        {{ return(_newest_usable_timestamp(table_name, timestamp_column, none, none)) }}
    {%- endif -%}
    {%- set raw_input = find_raw_input(var('raw_dir') | string | trim, table_name) -%}
    {%- if not raw_input.folder -%}
        {{ return(_newest_usable_timestamp(table_name, timestamp_column, none, none)) }}
    {%- endif -%}
    {%- set files = folder_files_against(stored, raw_input) -%}
    {%- if files.gone -%}
        {#- A loaded file is gone (or the dataset was a single file before): the stored rows no longer describe
            the folder. The build stops on this too; freshness reports what the files say. -#}
        {{ return(_newest_usable_timestamp(table_name, timestamp_column, none, none)) }}
    {%- endif -%}
    {{ return(_newest_usable_timestamp(table_name, timestamp_column, stored, files.new)) }}
{%- endmacro %}

{#- max(usable timestamp) over the raw view, or — with `stored` (a relation holding the typed
    `timestamp_column` of the files loaded before) — over the stored rows plus the raw rows of `new_files`
    only. The filter on the file name is pushed into the file reader, so the other files are not opened. -#}
{% macro _newest_usable_timestamp(table_name, timestamp_column, stored, new_files) -%}
    {#- The cutoff inside max(), not in a where clause: the optimizer would push such a filter into the
        subquery and parse every timestamp twice (measured at 10M: 34M email events 14.8 -> 5.9 s). -#}
    select max(case when loaded_at <= {{ future_cutoff() }} then loaded_at end) from (
    {%- if stored is none %}
        select {{ to_utc_timestamp(timestamp_column) }} as loaded_at
        from {{ source('shop', table_name) }}
    {%- else %}
        -- files loaded before: typed by the base model with the same to_utc_timestamp()
        select {{ adapter.quote(timestamp_column) }} as loaded_at
        from {{ stored }}
        {%- if new_files %}

        union all

        -- files not loaded yet
        select {{ to_utc_timestamp(timestamp_column) }} as loaded_at
        from {{ source('shop', table_name) }}
        where {{ source_file_in(new_files) }}
        {%- endif %}
    {%- endif %}
    ) as parsed
{%- endmacro %}

{#- The base model of `table_name` in the attached published warehouse (see attach_published_warehouse), or
    none when there is no such warehouse or its table lacks `_source_file` or `timestamp_column`. -#}
{% macro _published_base_model(table_name, timestamp_column) -%}
    {%- set catalog = _published_catalog() -%}
    {%- if not execute or catalog is none -%}{{ return(none) }}{%- endif -%}
    {%- set base_models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', 'base_shop__' ~ table_name) | list -%}
    {%- if base_models | length != 1 -%}{{ return(none) }}{%- endif -%}
    {%- set model = base_models[0] -%}
    {%- set found = run_query(
        "select count(*) from duckdb_columns() where database_name = '" ~ catalog ~ "' and schema_name = '"
        ~ model.schema ~ "' and table_name = '" ~ model.alias ~ "' and column_name in ('_source_file', '"
        ~ timestamp_column ~ "')"
    ).columns[0].values()[0] -%}
    {%- if found != 2 -%}{{ return(none) }}{%- endif -%}
    {{ return(api.Relation.create(database=catalog, schema=model.schema, identifier=model.alias)) }}
{%- endmacro %}

{#- Catalog name of the published warehouse when the on-run-start hook attached it, else none. -#}
{% macro _published_catalog() -%}
    {%- set catalog = _published_catalog_name() -%}
    {%- if (var('freshness_published_database') | string | trim) in ('', 'none', 'None') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set attached = run_query(
        "select count(*) from duckdb_databases() where database_name = '" ~ catalog ~ "'"
    ).columns[0].values()[0] -%}
    {{ return(catalog if attached == 1 else none) }}
{%- endmacro %}

{#- On-run-start hook: attach the published warehouse named by var `freshness_published_database` read-only,
    for raw_freshness_query. Once, before any source is checked (threads must not race to attach). A no-op
    when the var is empty (every build) and on other adapters. -#}
{% macro attach_published_warehouse() -%}
    {{ return(adapter.dispatch('attach_published_warehouse', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__attach_published_warehouse() -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__attach_published_warehouse() -%}
    {%- set path = var('freshness_published_database') | string | trim -%}
    {%- if path in ('', 'none', 'None') -%}{{ return('') }}{%- endif -%}
    {{ return(
        "attach if not exists '" ~ (path | replace("'", "''")) ~ "' as " ~ _published_catalog_name() ~ " (read_only)"
    ) }}
{%- endmacro %}

{% macro _published_catalog_name() -%}
    {{ return('published_warehouse') }}
{%- endmacro %}

{#- A raw folder's files (`raw_input` from find_raw_input) against the files whose rows `relation` stores:
    {'gone': loaded but no longer in the folder, 'new': in the folder but not loaded yet}. -#}
{% macro folder_files_against(relation, raw_input) -%}
    {%- set loaded = run_query(
        'select distinct _source_file from ' ~ relation ~ ' where _source_file is not null order by _source_file'
    ).columns[0].values() -%}
    {{ return({
        'gone': loaded | reject('in', raw_input.files) | list,
        'new': raw_input.files | reject('in', loaded) | list,
    }) }}
{%- endmacro %}

{#- Filter on the file name for rows of `files` (false for none); DuckDB pushes it into the file reader. -#}
{% macro source_file_in(files) -%}
    {%- if files -%}
        _source_file in ('{{ files | map('replace', "'", "''") | join("', '") }}')
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}
