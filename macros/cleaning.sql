{#- Small, adapter-dispatched building blocks for staging. Each one hides a construct that differs between
    DuckDB, PostgreSQL and Spark (see docs/sql-portability.md). -#}

{#- Cast that yields NULL instead of failing on unusable text, so the row can be quarantined. -#}
{% macro safe_try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('safe_try_cast', 'customer_lifecycle')(expression, data_type)) }}
{%- endmacro %}

{% macro default__safe_try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{% macro spark__safe_try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{#- PostgreSQL has no try_cast: guard the cast with a pattern match for the types staging uses. -#}
{% macro postgres__safe_try_cast(expression, data_type) -%}
    {%- set t = data_type | lower -%}
    {%- if 'int' in t -%}
        case when trim({{ expression }}) ~ '^[+-]?[0-9]+$' then cast(trim({{ expression }}) as {{ data_type }}) end
    {%- elif 'numeric' in t or 'decimal' in t or 'double' in t or 'float' in t -%}
        case when trim({{ expression }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$'
            then cast(trim({{ expression }}) as {{ data_type }}) end
    {%- else -%}
        cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{#- Text → UTC timestamp without time zone. An offset in the text is honoured; text without one is taken
    as UTC (the DuckDB profile sets TimeZone = UTC). NULL when the text is not a timestamp. -#}
{% macro to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'customer_lifecycle')(expression)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    cast({{ safe_try_cast('trim(' ~ expression ~ ')', 'timestamp') }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- DuckDB: the plain timestamp cast is ~3x cheaper than the timestamptz path, but it silently drops an
    offset ('10:00+02:00' would stay 10:00). So it only takes text shaped exactly like an offset-less
    'YYYY-MM-DD[T ]HH:MM:SS' (no room left for an offset or a zone name); anything else goes the
    timestamptz way, which honours offsets. -#}
{% macro duckdb__to_utc_timestamp(expression) -%}
    case
        when trim({{ expression }}) like '____-__-__T__:__:__' or trim({{ expression }}) like '____-__-__ __:__:__'
            then try_cast(trim({{ expression }}) as timestamp)
        else timezone('UTC', try_cast(trim({{ expression }}) as timestamptz))
    end
{%- endmacro %}

{#- Lower-cased, trimmed email; empty text becomes NULL. -#}
{% macro normalize_email(expression) -%}
    nullif(lower(trim({{ expression }})), '')
{%- endmacro %}

{#- Contract rule: an email needs text on both sides of an '@'. Expects a normalised email. -#}
{% macro is_valid_email(normalized_email) -%}
    ({{ normalized_email }} like '_%@_%')
{%- endmacro %}

{#- Lower-cased, trimmed enum value; empty text becomes NULL. -#}
{% macro normalize_enum(expression) -%}
    nullif(lower(trim({{ expression }})), '')
{%- endmacro %}

{#- Latest acceptable timestamp: the run's start plus `future_tolerance_hours`. Later rows are quarantined
    as future (a clock or export bug), while rows after the as-of date are kept for later as-of dates. -#}
{% macro future_cutoff() -%}
    {{ dbt.dateadd('hour', var('future_tolerance_hours'), run_loaded_at()) }}
{%- endmacro %}

{#- When this run loaded the rows: the watermark that incremental models compare with `>`. To the microsecond,
    so that a run starting in the same second as the previous one still finds that run's rows newer. -#}
{% macro run_loaded_at() -%}
    cast('{{ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Text → whole number; NULL for non-numbers, for fractions (some engines round '2.5' to 3) and for
    numbers beyond a 32-bit integer (the cast would fail the whole build instead of quarantining the row).
    The cast is written several times, but DuckDB evaluates it once (common subexpressions are shared;
    measured: this costs the same as a single cast). -#}
{% macro safe_try_cast_integer(expression) -%}
    {%- set as_number = safe_try_cast('trim(' ~ expression ~ ')', dbt.type_numeric()) -%}
    case
        when {{ as_number }} = floor({{ as_number }})
            and {{ as_number }} between -2147483648 and 2147483647
            then cast({{ as_number }} as {{ dbt.type_int() }})
    end
{%- endmacro %}

{#- The first failing check names the row's defect: `checks` is a list of (condition, reason) pairs in
    priority order. NULL when the row passes them all. -#}
{% macro first_failing_check(checks) -%}
    case
    {%- for condition, reason in checks %}
        when {{ condition }} then '{{ reason }}'
    {%- endfor %}
    end
{%- endmacro %}

{#- How a CTE that is used more than once is computed: `cte_storage(false)` inlines it into each use (for a
    wide, cheap CTE, a stored copy costs more than computing it again), `cte_storage(true)` computes it once and
    stores it (for a small result that is costly to find). DuckDB and PostgreSQL (12+) accept
    `[not] materialized`; elsewhere nothing is emitted and the engine decides. -#}
{% macro cte_storage(stored) -%}
    {{ return(adapter.dispatch('cte_storage', 'customer_lifecycle')(stored)) }}
{%- endmacro %}

{% macro default__cte_storage(stored) -%}
{%- endmacro %}

{% macro duckdb__cte_storage(stored) -%}
    {{ 'materialized' if stored else 'not materialized' }}
{%- endmacro %}

{% macro postgres__cte_storage(stored) -%}
    {{ 'materialized' if stored else 'not materialized' }}
{%- endmacro %}
