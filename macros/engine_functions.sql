{#- On-run-start hook: the helper functions some engines need, created (or replaced) before any model runs, in the
    profile's schema (target.schema). Nothing on DuckDB and Spark. -#}
{% macro create_engine_functions() -%}
    {{ return(adapter.dispatch('create_engine_functions', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__create_engine_functions() -%}
    {{ return('') }}
{%- endmacro %}

{#- PostgreSQL has no try_cast for timestamps (a bad text fails the statement) and 15 has no pg_input_is_valid:
    utc_timestamp_or_null(text) returns the UTC timestamp of an ISO-8601 text, NULL when the text is not one.
    Text without an offset is read as a plain timestamp (UTC by contract, whatever the session's time zone);
    text with `Z` or an offset is read as timestamptz and converted to UTC — a plain cast would drop the offset
    without a word. Only the ISO shapes DuckDB reads are accepted (tests/engines/test_postgres.py compares the
    two on awkward texts). `parallel unsafe`: its exception block is a subtransaction, which a parallel query may
    not start (the landing of ~70k rows failed with a parallel plan). -#}
{% macro postgres__create_engine_functions() -%}
    {%- set schema = adapter.quote(target.schema) -%}
    {%- set time = "[T ][0-9]{1,2}:[0-5][0-9](:[0-5][0-9]([.][0-9]*)?)?" -%}
    {%- set zone = "( ?[A-Z][A-Za-z0-9_/+-]*|[+-][0-9]{2}(:?[0-9]{2})?)" -%}
    {{ return(
        'create schema if not exists ' ~ schema ~ ';\n'
        ~ 'create or replace function ' ~ schema ~ '.utc_timestamp_or_null(value text) returns timestamp '
        ~ 'language plpgsql immutable strict parallel unsafe as $body$\n'
        ~ 'declare\n'
        ~ '    iso text;\n'
        ~ 'begin\n'
        ~ "    if value !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}(" ~ time ~ zone ~ "?)?$' then\n"
        ~ '        return null;\n'
        ~ '    end if;\n'
        ~ '    -- DuckDB keeps 6 decimals of a second (cut, not rounded) and reads a bare trailing dot\n'
        ~ "    iso := regexp_replace(value, '(:[0-9]{2}[.][0-9]{1,6})[0-9]*', '\\1');\n"
        ~ "    iso := regexp_replace(iso, '(:[0-9]{2})[.]([^0-9]|$)', '\\1\\2');\n"
        ~ "    if iso ~ '" ~ time ~ zone ~ "$' then\n"
        ~ "        return cast(iso as timestamptz) at time zone 'UTC';\n"
        ~ '    end if;\n'
        ~ '    return cast(iso as timestamp);\n'
        ~ 'exception when others then\n'
        ~ '    return null;\n'
        ~ 'end\n'
        ~ '$body$'
    ) }}
{%- endmacro %}
