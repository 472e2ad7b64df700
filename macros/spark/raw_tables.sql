{#- Spark: the raw tables come from an EL tool (or scripts/load_raw_spark.py) into schema `raw`; before any model
    runs, check in the catalog that each exists with every column marked `meta.required` in _shop__sources.yml
    and the batch column `_source_file`, and fail with a message naming the table and the column (as DuckDB
    does for its raw files). Returns no SQL: nothing is mapped. -#}
{% macro spark__register_raw_files() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- for source_node in graph.sources.values() | sort(attribute='name') if source_node.source_name == 'shop' -%}
        {%- set name = source_node.schema ~ '.' ~ source_node.identifier -%}
        {%- set relation = adapter.get_relation(
            database=source_node.database, schema=source_node.schema, identifier=source_node.identifier
        ) -%}
        {%- if relation is none -%}
            {{ exceptions.raise_compiler_error(
                "Raw table " ~ name ~ " not found. Load the raw data into schema " ~ source_node.schema
                ~ " (an EL tool, or scripts/load_raw_spark.py --raw-dir DIR). See docs/engines.md."
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
