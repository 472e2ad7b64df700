{#- Spark: a contract's empty-schema query casts NULL to each column's `data_type`, and Spark knows `varchar`
    only with a length. The contracts say `varchar` (DuckDB's text type); on Spark it is `string`, the type the
    models' text columns have there, so the comparison of the contract with the model's columns is unchanged. -#}
{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set spark_columns = {} -%}
    {%- for name, column in columns.items() -%}
        {%- set spark_column = dict(column) -%}
        {%- if (column.get('data_type') or '') | trim | lower == 'varchar' -%}
            {%- do spark_column.update({'data_type': 'string'}) -%}
        {%- endif -%}
        {%- do spark_columns.update({name: spark_column}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(spark_columns)) }}
{%- endmacro %}
