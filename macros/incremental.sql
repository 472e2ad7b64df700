{#- Building blocks of the incremental staging models (README "Incremental refresh and history").

    A base_shop__* model holds one row per raw row. An incremental run re-processes whole "dedup groups" —
    every raw row sharing one id — so that de-duplication sees exactly the rows a full build would see, and
    replaces them with delete+insert on `dedup_key`. -#}

{#- Fingerprint of a raw row's text, all columns. DuckDB: its 64-bit hash() of the column values (several
    times cheaper than md5 on wide rows; NULL and '' hash differently). Elsewhere: md5 of the values joined
    with a control character, NULL written as another one. A DuckDB upgrade that changed hash() would only
    make the next run re-process everything once. -#}
{% macro raw_row_fingerprint(columns) -%}
    {{ return(adapter.dispatch('raw_row_fingerprint', 'customer_lifecycle')(columns)) }}
{%- endmacro %}

{% macro default__raw_row_fingerprint(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append('coalesce(' ~ column ~ ', chr(30))') -%}
    {%- endfor -%}
    {{ dbt.hash('concat_ws(chr(31), ' ~ (parts | join(', ')) ~ ')') }}
{%- endmacro %}

{% macro duckdb__raw_row_fingerprint(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{#- The de-duplication group of a raw row: its trimmed id, or — for a row without an id, which is alone in
    its group — '#' and its fingerprint. Never NULL, so delete+insert can match it. -#}
{% macro dedup_key(id_column) -%}
    coalesce(nullif(trim({{ id_column }}), ''), '#' || cast(raw_row_hash as {{ dbt.type_string() }}))
{%- endmacro %}

{#- Rows of `keyed_cte` (the raw columns `raw_columns` of `dataset`, `_source_file`, raw_row_hash, dedup_key) that
    this run must process: all of them on a full build. On an incremental run, every row of each dedup group that
      1. has new raw rows:
         - raw dataset in one file: a fingerprint that is new, gone, or present a different number of times
           (new rows, late-arriving rows of any age, rows edited in place — e.g. an old order's status);
         - raw dataset as a folder of files: a row in a file not loaded before. Files are immutable once
           loaded: only the new files are read (the list of their names, made at compile time from the folder
           and the stored _source_file values, is a filter that DuckDB pushes into the file reader),
           and the group's other rows are taken from the stored table (stored_raw_text below), not from the
           old files; or
      2. has a row quarantined for a timestamp in the future: the verdict depends on the run's clock.
    Nothing else can change a group's rows (README "Incremental refresh and history"), so no recent window is
    re-derived "to be safe": it would re-derive unchanged rows and, through their new loaded_at, make every
    incremental model downstream process them again. `cleaned_columns` maps a raw column to its cleaned column
    where the names differ. -#}
{% macro rows_to_process(keyed_cte, dataset, raw_columns, cleaned_columns={}) -%}
    {%- if not is_incremental() %}
        select * from {{ keyed_cte }}
    {%- else -%}
        {%- set raw_input = find_raw_input(var('raw_dir') | string | trim, dataset) -%}
        {%- set bookkeeping = ['_source_file', 'raw_row_hash', 'dedup_key'] -%}
        {%- if raw_input.folder %}
        {%- set files = folder_files_against(this, raw_input) -%}
        {%- set gone = files.gone -%}
        {%- if gone -%}
            {{ exceptions.raise_compiler_error(
                "Raw file(s) " ~ (gone[:5] | join(', ')) ~ " of '" ~ dataset ~ "' were loaded before but are no longer in "
                ~ raw_input.path ~ ". Files are immutable once landed; after removing or renaming files (or "
                ~ "switching between a single file and a folder) run with --full-refresh."
            ) }}
        {%- endif -%}
        {%- set new_files_only = source_file_in(files.new) %}
        {%- set groups_to_rederive %}
            select dedup_key
            from {{ keyed_cte }}
            where {{ new_files_only }}

            union all

            {{ _stored_groups_with_future_rows() }}
        {%- endset %}
        -- rows of the files not loaded before
        select {{ (raw_columns + bookkeeping) | join(', ') }}
        from {{ keyed_cte }}
        where {{ new_files_only }}

        union all

        -- the stored rows of the groups to re-derive, back as raw text
        select
            {%- for column in raw_columns %}
            {{ stored_raw_text(column, cleaned_columns.get(column, column)) }} as {{ column }},
            {%- endfor %}
            {{ bookkeeping | join(', ') }}
        from {{ this }}
        where {{ rows_with_key_in(this, 'dedup_key', groups_to_rederive) }}
        {%- else %}
        -- Fingerprints present a different number of times in the file and in the stored rows (new, gone or
        -- repeated rows). Compared on the 64-bit fingerprint alone: it determines the dedup_key, and grouping
        -- on it is much cheaper than on text keys.
        with changed_fingerprints as (
            select coalesce(raw_side.raw_row_hash, stored_side.raw_row_hash) as raw_row_hash
            from (
                select raw_row_hash, count(*) as row_count
                from {{ keyed_cte }}
                group by raw_row_hash
            ) as raw_side
            full outer join (
                select raw_row_hash, count(*) as row_count
                from {{ this }}
                group by raw_row_hash
            ) as stored_side
                on raw_side.raw_row_hash = stored_side.raw_row_hash
            where
                raw_side.row_count is null
                or stored_side.row_count is null
                or raw_side.row_count != stored_side.row_count
        )

        select {{ keyed_cte }}.*
        from {{ keyed_cte }}
        where {{ keyed_cte }}.dedup_key in (
            select {{ keyed_cte }}.dedup_key
            from {{ keyed_cte }}
            where {{ keyed_cte }}.raw_row_hash in (select changed_fingerprints.raw_row_hash from changed_fingerprints)

            union all

            select dedup_key
            from {{ this }}
            where raw_row_hash in (select changed_fingerprints.raw_row_hash from changed_fingerprints)

            union all

            {{ _stored_groups_with_future_rows() }}
        )
        {%- endif -%}
    {%- endif %}
{%- endmacro %}

{#- Filter on the rows of `relation` whose `key` is among the values `keys_sql` (a select) returns. -#}
{% macro rows_with_key_in(relation, key, keys_sql) -%}
    {{ return(adapter.dispatch('rows_with_key_in', 'customer_lifecycle')(relation, key, keys_sql)) }}
{%- endmacro %}

{% macro default__rows_with_key_in(relation, key, keys_sql) -%}
    {{ key }} in ({{ keys_sql }})
{%- endmacro %}

{#- DuckDB: find the rows by reading the key column alone, then fetch them by position (rowid; DuckDB skips the
    storage blocks outside the positions found). A semi join on the key itself decodes every column of every
    stored row first: at 10M orders 7–11 s for the sessions of a nightly run, this way 2 s. -#}
{% macro duckdb__rows_with_key_in(relation, key, keys_sql) -%}
    rowid in (
        select rowid from {{ relation }}
        where {{ key }} in ({{ keys_sql }})
    )
{%- endmacro %}

{#- Dedup groups re-derived on every incremental run whatever the raw data says (rule 2 above). -#}
{% macro _stored_groups_with_future_rows() -%}
    select dedup_key
    from {{ this }}
    where quarantine_reason like 'future%'
{%- endmacro %}

{#- The raw text of a stored base row's column. Only rows with a defect keep their raw text (raw_<column>):
    storing it for every usable row doubled what staging writes. A usable row gives its cleaned value back as
    text instead, which cleans to the same value again, so re-deriving a stored row on an incremental run
    (or showing a duplicate in the quarantine) needs no raw copy. -#}
{% macro stored_raw_text(column, cleaned_column=none) -%}
    case
        when row_defect is not null then raw_{{ column }}
        else cast({{ cleaned_column or column }} as {{ dbt.type_string() }})
    end
{%- endmacro %}

{#- The raw_<column> columns of a base model: the text as delivered for a row with a defect, NULL otherwise
    (see stored_raw_text). -#}
{% macro raw_text_of_rows_with_defect(raw_columns) -%}
    {%- for column in raw_columns %}
        case when row_defect is not null then raw_{{ column }} end as raw_{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
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
