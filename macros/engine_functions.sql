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
    two on awkward texts).
    A text whose every field is checked in range here (calendar day, hour 00-23, offset Z or ±00-14:MM: the
    usual ones) is cast directly; only the others go through the exception block, a subtransaction per call
    (16x slower: 961 s for 3.4M events at 1M orders with it on every text). `parallel unsafe`: a parallel worker
    may not start a subtransaction. -#}
{% macro postgres__create_engine_functions() -%}
{%- set time = "[T ][0-9]{1,2}:[0-5][0-9](:[0-5][0-9]([.][0-9]*)?)?" -%}
{%- set zone = "( ?[A-Z][A-Za-z0-9_/+-]*|[+-][0-9]{2}(:?[0-9]{2})?)" -%}
{%- set checked = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    ~ "([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]*)?)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$" -%}
{%- set cast_iso -%}
        if iso ~ '{{ time }}{{ zone }}$' then
            return cast(iso as timestamptz) at time zone 'UTC';
        end if;
        return cast(iso as timestamp);
{%- endset %}
create schema if not exists {{ adapter.quote(target.schema) }};
create or replace function {{ adapter.quote(target.schema) }}.utc_timestamp_or_null(value text) returns timestamp
language plpgsql immutable strict parallel unsafe as $body$
declare
    iso text;
begin
    if value !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}({{ time }}{{ zone }}?)?$' then
        return null;
    end if;
    -- DuckDB keeps 6 decimals of a second (cut, not rounded) and reads a bare trailing dot
    iso := regexp_replace(value, '(:[0-9]{2}[.][0-9]{1,6})[0-9]*', '\1');
    iso := regexp_replace(iso, '(:[0-9]{2})[.]([^0-9]|$)', '\1\2');
    if iso ~ '{{ checked }}'
        and left(iso, 4) <> '0000'
        and extract(month from make_date(left(iso, 4)::int, substr(iso, 6, 2)::int, 1) + substr(iso, 9, 2)::int - 1)
            = substr(iso, 6, 2)::int then
{{ cast_iso }}
    end if;
    begin
{{ cast_iso }}
    exception when others then
        return null;
    end;
end
$body$
{%- endmacro %}
