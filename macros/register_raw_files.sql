{#- Map the raw files of the `shop` source to views in schema `raw`, every column as text.

    Runs as an on-run-start hook. For each source table it picks NAME.parquet if present, else NAME.csv
    (or the format forced by var raw_format), checks that every column marked `meta.required` in
    _shop__sources.yml is in the file, and fails before any model runs with a message naming the file and
    the column. Reading everything as text keeps CSV type sniffing out of the way; staging casts with
    try_cast so that unusable values reach the quarantine instead of failing the build. -#}
{% macro register_raw_files() -%}
    {{ return(adapter.dispatch('register_raw_files', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__register_raw_files() -%}
    {#- Warehouses other than DuckDB get their raw tables from an EL tool: nothing to map. -#}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__register_raw_files() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set raw_dir = var('raw_dir') | string | trim -%}
    {%- set statements = ['create schema if not exists raw'] -%}
    {%- for source_node in graph.sources.values() | sort(attribute='name') if source_node.source_name == 'shop' -%}
        {%- set raw_file = _find_raw_file(raw_dir, source_node.name) -%}
        {%- set reader = _raw_file_reader(raw_file) -%}
        {%- set file_columns = run_query('describe select * from ' ~ reader).columns[0].values() -%}
        {%- set by_lower_name = {} -%}
        {%- for file_column in file_columns -%}
            {%- do by_lower_name.update({file_column | lower | trim: file_column}) -%}
        {%- endfor -%}
        {%- set select_list = [] -%}
        {%- for column in source_node.columns.values() -%}
            {%- set meta = column.get('meta') or (column.get('config') or {}).get('meta') or {} -%}
            {%- if column.name not in by_lower_name -%}
                {%- if meta.get('required') -%}
                    {{ exceptions.raise_compiler_error(
                        "Raw file " ~ raw_file ~ " is missing required column '" ~ column.name
                        ~ "'. Columns found: " ~ (file_columns | join(', ')) ~ ". See docs/raw-data-contract.md."
                    ) }}
                {%- endif -%}
                {%- do select_list.append('cast(null as varchar) as ' ~ adapter.quote(column.name)) -%}
            {%- else -%}
                {%- do select_list.append(
                    'cast(' ~ adapter.quote(by_lower_name[column.name]) ~ ' as varchar) as ' ~ adapter.quote(column.name)
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do statements.append(
            'create or replace view raw.' ~ source_node.name ~ ' as select ' ~ (select_list | join(', '))
            ~ ' from ' ~ reader
        ) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{% macro _find_raw_file(raw_dir, name) -%}
    {%- set forced = var('raw_format') | string | lower | trim -%}
    {%- set formats = [forced] if forced in ['csv', 'parquet'] else ['parquet', 'csv'] -%}
    {%- for fmt in formats -%}
        {%- set candidate = raw_dir.rstrip('/') ~ '/' ~ name ~ '.' ~ fmt -%}
        {%- set found = run_query("select count(*) from glob('" ~ candidate | replace("'", "''") ~ "')") -%}
        {%- if found.columns[0].values()[0] > 0 -%}
            {{ return(candidate) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "Raw dataset '" ~ name ~ "' not found: expected " ~ name ~ "." ~ (formats | join(' or ' ~ name ~ '.'))
        ~ " in '" ~ raw_dir ~ "'. Set LIFECYCLE_RAW_DIR (or --vars \"raw_dir: ...\") to the folder with the raw files."
    ) }}
{%- endmacro %}

{% macro _raw_file_reader(raw_file) -%}
    {%- set quoted = "'" ~ raw_file | replace("'", "''") ~ "'" -%}
    {%- if raw_file.endswith('.parquet') -%}
        {{ return('read_parquet(' ~ quoted ~ ')') }}
    {%- else -%}
        {#- null_padding: a short line gives nulls (then quarantined) rather than a parse failure. -#}
        {{ return('read_csv(' ~ quoted ~ ", header = true, delim = ',', quote = '\"', all_varchar = true, null_padding = true)") }}
    {%- endif -%}
{%- endmacro %}
