{#- Map the raw inputs of the `shop` source to views in schema `raw`, every column as text.

    Runs as an on-run-start hook. A dataset is a file NAME.parquet or NAME.csv (Parquet wins unless var
    raw_format forces one), or a folder NAME/ of *.parquet or *.csv files (one per day or batch, as EL tools
    land them). It checks that every file holds every column marked `meta.required` in _shop__sources.yml and
    fails before any model runs with a message naming the file and the column. The view adds `_source_file`,
    the name of the file each row came from. Reading everything as text keeps CSV type sniffing out of the
    way; staging casts with try_cast so that unusable values reach the quarantine instead of failing the build. -#}
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
        {%- set raw_input = find_raw_input(raw_dir, source_node.name) -%}
        {%- set reader = _raw_input_reader(raw_input) -%}
        {%- set required = [] -%}
        {%- for column in source_node.columns.values() -%}
            {%- set meta = column.get('meta') or (column.get('config') or {}).get('meta') or {} -%}
            {%- if meta.get('required') -%}{%- do required.append(column.name) -%}{%- endif -%}
        {%- endfor -%}
        {#- Every file must hold every required column (a folder's union would hide a file that lacks one). -#}
        {%- for file_name, file_columns in _raw_file_columns(raw_input).items() -%}
            {%- set present = file_columns | map('lower') | map('trim') | list -%}
            {%- for column in required if column not in present -%}
                {{ exceptions.raise_compiler_error(
                    "Raw file " ~ file_name ~ " is missing required column '" ~ column
                    ~ "'. Columns found: " ~ (file_columns | join(', ')) ~ ". See docs/raw-data-contract.md."
                ) }}
            {%- endfor -%}
        {%- endfor -%}
        {#- Columns of the (union of the) files by lower-cased, trimmed name; a folder whose files spell a column
            differently (' Email' / 'email') gets them coalesced. -#}
        {%- set union_columns = run_query('describe select * from ' ~ reader).columns[0].values() -%}
        {%- set by_lower_name = {} -%}
        {%- for union_column in union_columns if union_column != '_source_path' -%}
            {%- do by_lower_name.setdefault(union_column | lower | trim, []).append(adapter.quote(union_column)) -%}
        {%- endfor -%}
        {%- set select_list = [] -%}
        {%- for column in source_node.columns.values() -%}
            {%- set spellings = by_lower_name.get(column.name, []) -%}
            {%- if spellings | length == 0 -%}
                {%- do select_list.append('cast(null as varchar) as ' ~ adapter.quote(column.name)) -%}
            {%- elif spellings | length == 1 -%}
                {%- do select_list.append('cast(' ~ spellings[0] ~ ' as varchar) as ' ~ adapter.quote(column.name)) -%}
            {%- else -%}
                {%- do select_list.append(
                    'cast(coalesce(' ~ (spellings | join(', ')) ~ ') as varchar) as ' ~ adapter.quote(column.name)
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {#- The file a row comes from, by name only (moving the raw folder changes nothing). A filter on it is
            pushed into the reader, so an incremental run opens only the files it has not loaded yet. -#}
        {%- do select_list.append('parse_filename(_source_path) as _source_file') -%}
        {%- do statements.append(
            'create or replace view raw.' ~ source_node.name ~ ' as select ' ~ (select_list | join(', '))
            ~ ' from ' ~ reader
        ) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{#- Where dataset `name` lives in `raw_dir`: a file NAME.parquet / NAME.csv, or a folder NAME/ of *.parquet or
    *.csv files (one format per folder; other files, e.g. an EL tool's _SUCCESS marker, are ignored). Returns
    {'folder': bool, 'format': 'parquet' | 'csv', 'path': file or glob, 'files': [file names]}. Fails with a
    clear message when nothing is found, when a folder mixes formats, or when a file and a folder both exist. -#}
{% macro find_raw_input(raw_dir, name) -%}
    {%- set forced = var('raw_format') | string | lower | trim -%}
    {%- set formats = [forced] if forced in ['csv', 'parquet'] else ['parquet', 'csv'] -%}
    {%- set base = raw_dir.rstrip('/') ~ '/' ~ name -%}
    {%- set listing = run_query(
        "select file from glob('" ~ (base | replace("'", "''")) ~ ".parquet') union all "
        ~ "select file from glob('" ~ (base | replace("'", "''")) ~ ".csv') union all "
        ~ "select file from glob('" ~ (base | replace("'", "''")) ~ "/*.parquet') union all "
        ~ "select file from glob('" ~ (base | replace("'", "''")) ~ "/*.csv') order by file"
    ).columns[0].values() -%}
    {%- set single = [] -%}
    {%- set in_folder = {'parquet': [], 'csv': []} -%}
    {%- for file in listing -%}
        {%- set fmt = 'parquet' if file.endswith('.parquet') else 'csv' -%}
        {%- if file == base ~ '.' ~ fmt -%}
            {%- do single.append(fmt) -%}
        {%- else -%}
            {%- do in_folder[fmt].append(file.split('/')[-1]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set folder_formats = [] -%}
    {%- for fmt in ['parquet', 'csv'] if in_folder[fmt] -%}{%- do folder_formats.append(fmt) -%}{%- endfor -%}
    {%- if folder_formats and single -%}
        {{ exceptions.raise_compiler_error(
            "Raw dataset '" ~ name ~ "' is both a file (" ~ name ~ "." ~ single[0] ~ ") and a folder (" ~ name
            ~ "/) in '" ~ raw_dir ~ "': keep one of them. See docs/raw-data-contract.md."
        ) }}
    {%- endif -%}
    {%- if folder_formats | length > 1 -%}
        {{ exceptions.raise_compiler_error(
            "Raw folder " ~ base ~ "/ mixes .parquet and .csv files (" ~ in_folder['parquet'][0] ~ ", "
            ~ in_folder['csv'][0] ~ "): a folder holds one format. See docs/raw-data-contract.md."
        ) }}
    {%- endif -%}
    {%- for fmt in formats -%}
        {%- if fmt in folder_formats -%}
            {{ return({'folder': true, 'format': fmt, 'path': base ~ '/*.' ~ fmt, 'files': in_folder[fmt]}) }}
        {%- elif fmt in single -%}
            {{ return({'folder': false, 'format': fmt, 'path': base ~ '.' ~ fmt, 'files': [name ~ '.' ~ fmt]}) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "Raw dataset '" ~ name ~ "' not found: expected " ~ name ~ "." ~ (formats | join(' or ' ~ name ~ '.'))
        ~ ", or a folder " ~ name ~ "/ with *." ~ (formats | join(' or *.')) ~ " files, in '" ~ raw_dir
        ~ "'. Set LIFECYCLE_RAW_DIR (or --vars \"raw_dir: ...\") to the folder with the raw files."
    ) }}
{%- endmacro %}

{#- The DuckDB table function reading a raw input, every column as text for CSV, with the file path in column
    _source_path. A folder is read through its glob, columns matched by name across files. -#}
{% macro _raw_input_reader(raw_input) -%}
    {%- set quoted = "'" ~ raw_input.path | replace("'", "''") ~ "'" -%}
    {%- set options = "filename = '_source_path'" ~ (', union_by_name = true' if raw_input.folder else '') -%}
    {%- if raw_input.format == 'parquet' -%}
        {{ return('read_parquet(' ~ quoted ~ ', ' ~ options ~ ')') }}
    {%- else -%}
        {#- null_padding: a short line gives nulls (then quarantined) rather than a parse failure. -#}
        {{ return('read_csv(' ~ quoted ~ ", header = true, delim = ',', quote = '\"', all_varchar = true, "
            ~ "null_padding = true, " ~ options ~ ")") }}
    {%- endif -%}
{%- endmacro %}

{#- File path -> its column names, for every file of a raw input (Parquet: one footer query for all files). -#}
{% macro _raw_file_columns(raw_input) -%}
    {%- set quoted = "'" ~ raw_input.path | replace("'", "''") ~ "'" -%}
    {%- set by_file = {} -%}
    {%- if raw_input.format == 'parquet' -%}
        {%- set rows = run_query(
            'select file_name, name from parquet_schema(' ~ quoted ~ ') where num_children is null order by file_name'
        ) -%}
        {%- for row in rows -%}
            {%- do by_file.setdefault(row[0], []).append(row[1]) -%}
        {%- endfor -%}
    {%- else -%}
        {%- set folder = raw_input.path.rsplit('/', 1)[0] -%}
        {%- set paths = [raw_input.path] if not raw_input.folder else raw_input.files | map('string') | list -%}
        {%- for path in paths -%}
            {%- set full_path = path if not raw_input.folder else folder ~ '/' ~ path -%}
            {%- set single = {'folder': false, 'format': 'csv', 'path': full_path} -%}
            {%- do by_file.update({full_path: run_query(
                'describe select * from ' ~ _raw_input_reader(single)
            ).columns[0].values() | reject('equalto', '_source_path') | list}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(by_file) }}
{%- endmacro %}
