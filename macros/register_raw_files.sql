{#- Map the raw inputs of the `shop` source to views in schema `raw`, every column as text.

    Runs as an on-run-start hook. A dataset is a file NAME.parquet or NAME.csv (Parquet wins unless var
    raw_format forces one), or a folder NAME/ of *.parquet or *.csv files (one per day or batch, as EL tools
    land them). It checks that every file holds every column marked `meta.required` in _shop__sources.yml and
    fails before any model runs with a message naming the file and the column. The view adds `_source_file`,
    the name of the file each row came from. Reading everything as text keeps type sniffing out of the way;
    staging types each value strictly, so that unusable values reach the quarantine instead of failing the build.

    CSV is read as RFC 4180 (docs/raw-data-contract.md "Strict parsing"): a quoted field may hold commas, doubled
    quotes and line breaks. Each file's header row names its fields and nothing is sniffed, so a bad record near
    the top cannot change how a file is read. A record with another number of fields than its header, or with a
    broken quote, is no row of the view: the reader sets it aside with its text (store_rejects, tables named by
    raw_rejects_tables) and the landing stores it as a row with a defect (macros/rejected_records.sql). -#}
{% macro register_raw_files() -%}
    {{ return(adapter.dispatch('register_raw_files', 'customer_lifecycle')()) }}
{%- endmacro %}

{#- Warehouses other than DuckDB get their raw tables from an EL tool (or scripts/load_raw.py): nothing to map,
    but the same input check on the warehouse's catalog: every raw table exists and has every column marked
    `meta.required` and `_source_file`; otherwise the run stops before any model, naming the table and column. -#}
{% macro default__register_raw_files() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- for source_node in graph.sources.values() | sort(attribute='name') if source_node.source_name == 'shop' -%}
        {%- set name = source_node.schema ~ '.' ~ source_node.identifier -%}
        {%- set relation = adapter.get_relation(
            database=source_node.database, schema=source_node.schema, identifier=source_node.identifier
        ) -%}
        {%- if relation is none -%}
            {{ exceptions.raise_compiler_error(
                "Raw table " ~ name ~ " not found. Load the raw data "
                ~ "(an EL tool, or scripts/load_raw.py --target " ~ target.type ~ " --raw-dir DIR). See docs/engines.md."
            ) }}
        {%- endif -%}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- set required = ['_source_file'] -%}
        {%- for column in source_node.columns.values() -%}
            {%- set meta = column.get('meta') or (column.get('config') or {}).get('meta') or {} -%}
            {%- if meta.get('required') -%}{%- do required.append(column.name) -%}{%- endif -%}
        {%- endfor -%}
        {%- for column in required if column not in present -%}
            {{ exceptions.raise_compiler_error(
                "Raw table " ~ name ~ " is missing required column '" ~ column ~ "'. Columns found: "
                ~ (present | join(', ')) ~ ". See docs/raw-data-contract.md."
            ) }}
        {%- endfor -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__register_raw_files() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set raw_dir = var('raw_dir') | string | trim -%}
    {%- set statements = ['create schema if not exists raw'] -%}
    {%- for source_node in graph.sources.values() | sort(attribute='name') if source_node.source_name == 'shop' -%}
        {%- set raw_input = find_raw_input(raw_dir, source_node.name) -%}
        {%- set required = [] -%}
        {%- for column in source_node.columns.values() -%}
            {%- set meta = column.get('meta') or (column.get('config') or {}).get('meta') or {} -%}
            {%- if meta.get('required') -%}{%- do required.append(column.name) -%}{%- endif -%}
        {%- endfor -%}
        {%- set columns_by_file = _raw_file_columns(raw_input) -%}
        {#- Every file must hold every required column (a folder's union would hide a file that lacks one). -#}
        {%- for file_name, file_columns in columns_by_file.items() -%}
            {%- set present = file_columns | map('lower') | map('trim') | list -%}
            {%- for column in required if column not in present -%}
                {{ exceptions.raise_compiler_error(
                    "Raw file " ~ file_name ~ " is missing required column '" ~ column
                    ~ "'. Columns found: " ~ (file_columns | join(', ')) ~ ". See docs/raw-data-contract.md."
                ) }}
            {%- endfor -%}
        {%- endfor -%}
        {%- if raw_input.format == 'csv' -%}
            {%- set view_select = _csv_raw_select(source_node, columns_by_file) -%}
        {%- else -%}
            {%- set view_select = _parquet_raw_select(source_node, raw_input) -%}
        {%- endif -%}
        {%- do statements.append('create or replace view raw.' ~ source_node.name ~ ' as ' ~ view_select) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{#- Where dataset `name` lives in `raw_dir`: a file NAME.parquet / NAME.csv, or a folder NAME/ of *.parquet or
    *.csv files (one format per folder; other files, e.g. an EL tool's _SUCCESS marker, are ignored). Returns
    {'folder': bool, 'format': 'parquet' | 'csv', 'path': file or folder glob, 'files': [file names]}. Fails
    with a clear message when nothing is found, when a folder mixes formats, or when a file and a folder both
    exist. `raw_dir` is taken literally: glob characters in it ([, *, ?) match only themselves. -#}
{% macro find_raw_input(raw_dir, name) -%}
    {%- set forced = var('raw_format') | string | lower | trim -%}
    {%- set formats = [forced] if forced in ['csv', 'parquet'] else ['parquet', 'csv'] -%}
    {%- set base = raw_dir.rstrip('/') ~ '/' ~ name -%}
    {%- set pattern = glob_literal(base) | replace("'", "''") -%}
    {%- set listing = run_query(
        "select file from glob('" ~ pattern ~ ".parquet') union all "
        ~ "select file from glob('" ~ pattern ~ ".csv') union all "
        ~ "select file from glob('" ~ pattern ~ "/*.parquet') union all "
        ~ "select file from glob('" ~ pattern ~ "/*.csv') order by file"
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

{#- `path` as a DuckDB glob that matches only itself: [, * and ? become one-character classes. -#}
{% macro glob_literal(path) -%}
    {{ return(path | replace('[', '[[]') | replace('*', '[*]') | replace('?', '[?]')) }}
{%- endmacro %}

{#- A file path as a quoted SQL literal for DuckDB's file readers, matching only that file. -#}
{% macro _literal_file(path) -%}
    {{ return("'" ~ (glob_literal(path) | replace("'", "''")) ~ "'") }}
{%- endmacro %}

{#- The files of a raw input, as full paths. -#}
{% macro _raw_input_files(raw_input) -%}
    {%- if not raw_input.folder -%}{{ return([raw_input.path]) }}{%- endif -%}
    {%- set folder = raw_input.path.rsplit('/', 1)[0] -%}
    {%- set paths = [] -%}
    {%- for file in raw_input.files -%}{%- do paths.append(folder ~ '/' ~ file) -%}{%- endfor -%}
    {{ return(paths) }}
{%- endmacro %}

{#- Names of the temporary tables where DuckDB's CSV reader sets aside the records of `dataset` it cannot read
    (one row per problem found: file, line, error type and the record's text). Connection-local: a model that
    reads the raw view finds there what its own statements set aside. -#}
{% macro raw_rejects_tables(dataset) -%}
    {{ return({'errors': 'raw_rejects_' ~ dataset, 'scans': 'raw_reject_scans_' ~ dataset}) }}
{%- endmacro %}

{#- File path -> its column names as written, for every file of a raw input: the Parquet footers (one query for
    all files), or each CSV file's header row. -#}
{% macro _raw_file_columns(raw_input) -%}
    {%- set by_file = {} -%}
    {%- if raw_input.format == 'parquet' -%}
        {%- set folder_pattern = glob_literal(raw_input.path.rsplit('/', 1)[0]) ~ '/*.parquet' -%}
        {%- set pattern = folder_pattern if raw_input.folder else glob_literal(raw_input.path) -%}
        {%- set rows = run_query(
            "select file_name, name from parquet_schema('" ~ (pattern | replace("'", "''"))
            ~ "') where num_children is null order by file_name"
        ) -%}
        {%- for row in rows -%}
            {%- do by_file.setdefault(row[0], []).append(row[1]) -%}
        {%- endfor -%}
    {%- else -%}
        {%- for path in _raw_input_files(raw_input) -%}
            {%- do by_file.update({path: csv_header_fields(path)}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(by_file) }}
{%- endmacro %}

{#- The fields of a CSV file's header row (its first line; a UTF-8 BOM is dropped): the line is read whole
    (a delimiter that cannot occur, no quote; a later line that is not UTF-8 must not stop it), then split here
    by RFC 4180 rules. An empty file has none. -#}
{% macro csv_header_fields(path) -%}
    {%- set lines = run_query(
        "select header_line from read_csv(" ~ _literal_file(path) ~ ", header = false, auto_detect = false, "
        ~ "columns = {'header_line': 'VARCHAR'}, delim = chr(30) || chr(31) || chr(30) || chr(31), quote = '', "
        ~ "escape = '', strict_mode = false, ignore_errors = true) limit 1"
    ).columns[0].values() -%}
    {%- if lines | length == 0 or lines[0] is none -%}{{ return([]) }}{%- endif -%}
    {%- set state = namespace(fields=[], field='', quoted=false, closed=false) -%}
    {%- for character in lines[0] -%}
        {%- if state.quoted -%}
            {%- if character == '"' -%}
                {%- set state.quoted = false -%}
                {%- set state.closed = true -%}
            {%- else -%}
                {%- set state.field = state.field ~ character -%}
            {%- endif -%}
        {%- elif character == ',' -%}
            {%- do state.fields.append(state.field) -%}
            {%- set state.field = '' -%}
            {%- set state.closed = false -%}
        {%- elif character == '"' and (state.closed or state.field == '') -%}
            {#- an opening quote, or the second of a doubled quote inside a quoted field -#}
            {%- set state.field = state.field ~ ('"' if state.closed else '') -%}
            {%- set state.quoted = true -%}
            {%- set state.closed = false -%}
        {%- else -%}
            {%- set state.field = state.field ~ character -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do state.fields.append(state.field) -%}
    {{ return(state.fields) }}
{%- endmacro %}

{#- The raw view's select over CSV files: one strict reader per distinct header (a folder's files usually share
    one), each naming its fields c0, c1, … as its header has them and mapping them to the source's columns by
    lower-cased, trimmed name (a header that spells one column twice, ' Email' and 'email', gets them
    coalesced; a column the header lacks is NULL). -#}
{% macro _csv_raw_select(source_node, columns_by_file) -%}
    {%- set groups = {} -%}
    {%- set headers = {} -%}
    {%- for path, fields in columns_by_file.items() -%}
        {%- set key = fields | join('\n') -%}
        {%- do headers.update({key: fields}) -%}
        {%- do groups.setdefault(key, []).append(path) -%}
    {%- endfor -%}
    {%- set rejects = raw_rejects_tables(source_node.name) -%}
    {%- set selects = [] -%}
    {%- for key in groups | sort -%}
        {%- set fields = headers[key] -%}
        {%- set positions = {} -%}
        {%- for field in fields -%}
            {%- do positions.setdefault(field | lower | trim, []).append('c' ~ loop.index0) -%}
        {%- endfor -%}
        {%- set select_list = [] -%}
        {%- for column in source_node.columns.values() -%}
            {%- set found = positions.get(column.name, []) -%}
            {%- if found | length == 0 -%}
                {%- do select_list.append('cast(null as varchar) as ' ~ adapter.quote(column.name)) -%}
            {%- elif found | length == 1 -%}
                {%- do select_list.append(found[0] ~ ' as ' ~ adapter.quote(column.name)) -%}
            {%- else -%}
                {%- do select_list.append('coalesce(' ~ (found | join(', ')) ~ ') as ' ~ adapter.quote(column.name)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do select_list.append('parse_filename(_source_path) as _source_file') -%}
        {%- set files = [] -%}
        {%- for path in groups[key] -%}{%- do files.append(_literal_file(path)) -%}{%- endfor -%}
        {%- set columns = [] -%}
        {%- for field in fields -%}{%- do columns.append("'c" ~ loop.index0 ~ "': 'VARCHAR'") -%}{%- endfor -%}
        {%- do selects.append(
            'select ' ~ (select_list | join(', ')) ~ ' from read_csv([' ~ (files | join(', ')) ~ '], '
            ~ "header = true, auto_detect = false, columns = {" ~ (columns | join(', ')) ~ "}, "
            ~ "delim = ',', quote = '\"', escape = '\"', ignore_errors = true, store_rejects = true, "
            ~ "rejects_table = '" ~ rejects.errors ~ "', rejects_scan = '" ~ rejects.scans ~ "', "
            ~ "filename = '_source_path')"
        ) -%}
    {%- endfor -%}
    {{ return(selects | join(' union all ')) }}
{%- endmacro %}

{#- The raw view's select over Parquet files, columns matched by name across the files of a folder; a folder
    whose files spell a column differently (' Email' / 'email') gets them coalesced. -#}
{% macro _parquet_raw_select(source_node, raw_input) -%}
    {%- set folder_pattern = glob_literal(raw_input.path.rsplit('/', 1)[0]) ~ '/*.parquet' -%}
    {%- set pattern = folder_pattern if raw_input.folder else glob_literal(raw_input.path) -%}
    {%- set reader = "read_parquet('" ~ (pattern | replace("'", "''")) ~ "', filename = '_source_path'"
        ~ (', union_by_name = true' if raw_input.folder else '') ~ ')' -%}
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
    {{ return('select ' ~ (select_list | join(', ')) ~ ' from ' ~ reader) }}
{%- endmacro %}

{#- A query counting the records of a raw dataset, for the test raw_rows_accounted_for. On DuckDB a CSV dataset
    is counted by a second, lenient pass of the reader over its files (strict_mode off, one column: it never
    sets a record aside, whatever its fields), not by the raw view, which leaves out the records set aside;
    otherwise the raw relation's rows. -#}
{% macro raw_record_count(raw_relation) -%}
    {{ return(adapter.dispatch('raw_record_count', 'customer_lifecycle')(raw_relation)) }}
{%- endmacro %}

{% macro default__raw_record_count(raw_relation) -%}
    select count(*) from {{ raw_relation }}
{%- endmacro %}

{% macro duckdb__raw_record_count(raw_relation) -%}
    {%- set raw_input = find_raw_input(var('raw_dir') | string | trim, raw_relation.identifier) if execute else none -%}
    {%- if raw_input is none or raw_input.format != 'csv' -%}
        select count(*) from {{ raw_relation }}
    {%- else -%}
        {%- set files = [] -%}
        {%- for path in _raw_input_files(raw_input) -%}{%- do files.append(_literal_file(path)) -%}{%- endfor -%}
        select count(*) from read_csv([{{ files | join(', ') }}], header = true, auto_detect = false,
            columns = {'c0': 'VARCHAR'}, delim = ',', quote = '"', escape = '"', strict_mode = false)
    {%- endif -%}
{%- endmacro %}
