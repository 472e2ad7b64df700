{#- Records the CSV reader could not read as rows, landed as rows with a defect (docs/raw-data-contract.md
    "Strict parsing"). DuckDB's reader sets such a record aside, with its text, in connection-local tables
    (register_raw_files, raw_rejects_tables); the landed materialization empties them before its statement reads
    the raw view and afterwards inserts what that statement set aside: one row per record, with `row_defect`
    `wrong_field_count` (more or fewer fields than the header) or `malformed_csv_record` (a broken quote, or
    any other reader error) and the record's text in `raw_record`; its other columns stay NULL. So every record
    of a file is one landed row: raw records = staged + quarantined. A no-op on other adapters, whose raw tables
    an EL tool loads. -#}
{% macro clear_rejected_records(dataset) -%}
    {{ return(adapter.dispatch('clear_rejected_records', 'customer_lifecycle')(dataset)) }}
{%- endmacro %}

{% macro default__clear_rejected_records(dataset) -%}
{%- endmacro %}

{% macro duckdb__clear_rejected_records(dataset) -%}
    {%- set rejects = raw_rejects_tables(dataset) -%}
    {%- do run_query('drop table if exists temp.main.' ~ rejects.errors) -%}
    {%- do run_query('drop table if exists temp.main.' ~ rejects.scans) -%}
{%- endmacro %}

{#- Insert into `target` the records set aside since clear_rejected_records, only those of the files named in
    `batches` when it is a list (an append), all of them when it is none (a whole load). -#}
{% macro land_rejected_records(target, dataset, batches) -%}
    {{ return(adapter.dispatch('land_rejected_records', 'customer_lifecycle')(target, dataset, batches)) }}
{%- endmacro %}

{% macro default__land_rejected_records(target, dataset, batches) -%}
{%- endmacro %}

{% macro duckdb__land_rejected_records(target, dataset, batches) -%}
    {%- set rejects = raw_rejects_tables(dataset) -%}
    {%- set found = run_query(
        "select count(*) from duckdb_tables() where database_name = 'temp' and table_name in ('"
        ~ rejects.errors ~ "', '" ~ rejects.scans ~ "')"
    ).columns[0].values()[0] -%}
    {%- if found != 2 -%}{{ return(none) }}{%- endif -%}
    {%- call statement('land_rejected_records') -%}
        insert into {{ target }} (_source_file, _loaded_at, row_defect, raw_record)
        select
            parse_filename(scans.file_path) as _source_file,
            {{ run_loaded_at() }} as _loaded_at,
            -- one record can be reported more than once (a missing field per column); a broken quote wins
            case
                when bool_and(errors.error_type in ('TOO MANY COLUMNS', 'MISSING COLUMNS'))
                    then 'wrong_field_count'
                else 'malformed_csv_record'
            end as row_defect,
            -- the record as written, without the line break that ends it (or ends the record before it)
            trim(min(errors.csv_line), chr(13) || chr(10)) as raw_record
        from temp.main.{{ rejects.errors }} as errors
        inner join temp.main.{{ rejects.scans }} as scans
            on errors.scan_id = scans.scan_id and errors.file_id = scans.file_id
        {%- if batches is not none %}
        where parse_filename(scans.file_path) in (
            {%- for batch in batches %}'{{ batch | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
        )
        {%- endif %}
        group by scans.file_path, errors.line_byte_position
    {%- endcall -%}
{%- endmacro %}
