{#- The raw text a landed row keeps: only a row with a defect stores its raw values (raw_<column>); storing them
    for every usable row would double what landing writes. -#}
{% macro raw_text_of_rows_with_defect(raw_columns) -%}
    {%- for column in raw_columns %}
        case when row_defect is not null then raw_{{ column }} end as raw_{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The raw text of a landed row's column for the quarantine: as delivered for a row with a defect; for a usable
    row (a duplicate) its typed value as text, which types to the same value again. -#}
{% macro stored_raw_text(column, typed_column=none) -%}
    case
        when row_defect is not null then raw_{{ column }}
        else cast({{ typed_column or column }} as {{ dbt.type_string() }})
    end
{%- endmacro %}
