{#- Small, adapter-dispatched building blocks for staging. Each one hides a construct that differs between
    DuckDB, PostgreSQL and Spark (see docs/sql-portability.md). -#}

{#- Cast that yields NULL instead of failing on unusable text, so the row can be quarantined. -#}
{% macro safe_try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('safe_try_cast', 'customer_lifecycle')(expression, data_type)) }}
{%- endmacro %}

{% macro default__safe_try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{#- DuckDB's try_cast lets a number in exponent form overflow a decimal(p, s) ('-445.2e20' as decimal(28, 6) gives
    a 23-digit value): the range is checked on a decimal(38, s) first. -#}
{% macro duckdb__safe_try_cast(expression, data_type) -%}
    {%- set size = decimal_size(data_type) -%}
    {%- if size -%}
        case when abs(try_cast({{ expression }} as decimal(38, {{ size.scale }}))) < {{ 10 ** size.whole_digits }}
            then try_cast({{ expression }} as {{ data_type }}) end
    {%- else -%}
        try_cast({{ expression }} as {{ data_type }})
    {%- endif -%}
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
        {#- A decimal(p, s) cast raises on a value with more than p - s whole digits (DuckDB's try_cast gives
            NULL): checked on the unconstrained numeric first, rounded as the cast would round it. -#}
        {%- set size = decimal_size(data_type) -%}
        case when trim({{ expression }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$'
            {%- if size %}
            and abs(round(cast(trim({{ expression }}) as numeric), {{ size.scale }}))
                < power(cast(10 as numeric), {{ size.whole_digits }})
            {%- elif 'double' in t or 'float' in t %}
            and abs(cast(trim({{ expression }}) as numeric)) < cast('1e308' as numeric)
            {%- endif %}
            then cast(trim({{ expression }}) as {{ data_type }}) end
    {%- else -%}
        cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{#- The size of a `decimal(p, s)` / `numeric(p, s)` type name: {whole_digits: p - s, scale: s}; none for any
    other type (an unsized numeric included). -#}
{% macro decimal_size(data_type) -%}
    {%- set sized = modules.re.match('^\s*(numeric|decimal)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$', data_type | lower) -%}
    {{ return({'whole_digits': sized.group(2) | int - sized.group(3) | int, 'scale': sized.group(3) | int}
        if sized else none) }}
{%- endmacro %}

{#- Text → UTC timestamp without time zone. An offset in the text is honoured; text without one is taken
    as UTC (the DuckDB profile sets TimeZone = UTC). NULL when the text is not a timestamp. Only text that
    starts like an ISO-8601 date (YYYY-MM-DD, date-only = midnight) is cast: the engines' special words
    (`epoch`, `infinity`, `-infinity`, `now`, `today`, `allballs`, …), other spellings and year 0000 (1 BC to
    DuckDB and Spark) cast to a timestamp too, but are not calendar date-times (docs/raw-data-contract.md "Strict parsing"). -#}
{% macro to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'customer_lifecycle')(expression)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    case
        when trim({{ expression }}) like '____-__-__%' and trim({{ expression }}) not like '0000%'
            then cast({{ safe_try_cast('trim(' ~ expression ~ ')', 'timestamp') }} as {{ dbt.type_timestamp() }})
    end
{%- endmacro %}

{#- PostgreSQL: the helper function of macros/engine_functions.sql (no try_cast there; a plain cast would also
    drop an offset). -#}
{% macro postgres__to_utc_timestamp(expression) -%}
    {{ adapter.quote(target.schema) }}.utc_timestamp_or_null(trim({{ expression }}))
{%- endmacro %}

{#- DuckDB: the plain timestamp cast is ~3x cheaper than the timestamptz path, but it silently drops an
    offset ('10:00+02:00' would stay 10:00). So it only takes text shaped exactly like an offset-less
    'YYYY-MM-DD[T ]HH:MM:SS' (no room left for an offset or a zone name); other ISO-shaped text goes the
    timestamptz way, which honours offsets. -#}
{% macro duckdb__to_utc_timestamp(expression) -%}
    case
        when trim({{ expression }}) like '0000%' then null
        when trim({{ expression }}) like '____-__-__T__:__:__' or trim({{ expression }}) like '____-__-__ __:__:__'
            then try_cast(trim({{ expression }}) as timestamp)
        when trim({{ expression }}) like '____-__-__%'
            then timezone('UTC', try_cast(trim({{ expression }}) as timestamptz))
    end
{%- endmacro %}

{#- The earliest plausible timestamp (var `earliest_valid_date`): an earlier one is `implausible_<column>`, a
    default or placeholder date (1900-01-01, 1970-01-01) rather than an event. -#}
{% macro earliest_valid_timestamp() -%}
    cast('{{ var("earliest_valid_date") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Contract rule: a plain number — optional sign, digits, optional `.` and digits, optional exponent — and
    nothing else (no thousands separator, `_`, currency sign, NaN or Infinity, which some engines' casts
    accept). One regular expression: measured ~50 ns a value, a few percent of landing. -#}
{% macro is_plain_number(expression) -%}
    {{ return(adapter.dispatch('is_plain_number', 'customer_lifecycle')(expression)) }}
{%- endmacro %}

{% macro default__is_plain_number(expression) -%}
    regexp_full_match(trim({{ expression }}), '[+-]?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?')
{%- endmacro %}

{% macro postgres__is_plain_number(expression) -%}
    (trim({{ expression }}) ~ '^[+-]?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$')
{%- endmacro %}

{% macro spark__is_plain_number(expression) -%}
    (trim({{ expression }}) rlike '^[+-]?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$')
{%- endmacro %}

{#- True when the typed decimal `typed` holds the plain number `text` exactly: false when the text has more
    decimal places than the type keeps (the cast would round them away). Compared as doubles: exact for the
    amounts below `max_amount` (type_double: macros/lifecycle.sql). -#}
{% macro holds_exactly(typed, text) -%}
    (cast({{ typed }} as {{ type_double() }}) = {{ safe_try_cast('trim(' ~ text ~ ')', type_double()) }})
{%- endmacro %}

{#- The contract's checks of an amount column (orders.amount, sessions.cart_value), in order, as
    (condition, reason) pairs for first_failing_check: not a plain number, more decimal places than the type
    keeps (the cast would round them), too big to be real (above var `max_amount`, or beyond what the type
    holds), negative. `raw` is the raw text, `typed` the typed value; a NULL raw value passes (a required amount
    checks emptiness itself). -#}
{% macro amount_checks(raw, typed, column) -%}
    {%- set given = "nullif(trim(" ~ raw ~ "), '') is not null" -%}
    {{ return([
        (given ~ ' and not ' ~ is_plain_number(raw), 'invalid_' ~ column),
        ('not ' ~ holds_exactly(typed, raw), 'invalid_' ~ column),
        (given ~ ' and (' ~ typed ~ ' is null or ' ~ typed ~ ' > ' ~ var('max_amount') ~ ')', 'implausible_' ~ column),
        (typed ~ ' < 0', 'negative_' ~ column),
    ]) }}
{%- endmacro %}

{#- The contract's checks of a timestamp column, in order, as (condition, reason) pairs for first_failing_check:
    text that is not a calendar date-time, a date before var `earliest_valid_date`, a time after the future
    cutoff. A NULL raw value passes (a required timestamp checks emptiness itself). -#}
{% macro timestamp_checks(raw, typed, column) -%}
    {{ return([
        (typed ~ " is null and nullif(trim(" ~ raw ~ "), '') is not null", 'invalid_' ~ column),
        (typed ~ ' < ' ~ earliest_valid_timestamp(), 'implausible_' ~ column),
        (typed ~ ' > ' ~ future_cutoff(), 'future_' ~ column),
    ]) }}
{%- endmacro %}

{#- Lower-cased, trimmed email; empty text becomes NULL. -#}
{% macro normalize_email(expression) -%}
    nullif(lower(trim({{ expression }})), '')
{%- endmacro %}

{#- Contract rule: exactly one '@' with text on both sides, a dot inside the domain part, and no whitespace,
    control character (NUL included) or invisible format character (zero-width space and joiners, soft hyphen,
    BOM) anywhere. Expects a normalised email. -#}
{% macro is_valid_email(normalized_email) -%}
    ({{ normalized_email }} like '_%@_%._%' and {{ normalized_email }} not like '%@%@%'
        and not {{ has_hidden_character(normalized_email) }})
{%- endmacro %}

{#- True when the text holds whitespace, a control character or an invisible format character (Unicode
    categories Z, Cc, Cf). One regular expression: measured ~0.2 µs a value, cheaper than translate(). -#}
{% macro has_hidden_character(expression) -%}
    {{ return(adapter.dispatch('has_hidden_character', 'customer_lifecycle')(expression)) }}
{%- endmacro %}

{% macro default__has_hidden_character(expression) -%}
    regexp_matches({{ expression }}, '[\s\p{Z}\p{Cc}\p{Cf}]')
{%- endmacro %}

{% macro spark__has_hidden_character(expression) -%}
    ({{ expression }} rlike '[\\s\\p{Z}\\p{Cc}\\p{Cf}]')
{%- endmacro %}

{#- PostgreSQL's regular expressions know no Unicode categories, and their classes ([:space:], [:cntrl:]) follow
    the collation (ASCII only under "C", which the landed text columns use: in_byte_order): every character by
    code point — C0 and C1 controls, spaces and separators (Z), format characters (Cf). -#}
{% macro postgres__has_hidden_character(expression) -%}
    ({{ expression }} ~ '[\u0001-\u0020\u007f-\u00a0\u00ad\u0600-\u0605\u061c\u06dd\u070f\u08e2\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]')
{%- endmacro %}

{#- Text that sorts and compares by code point on every engine, as DuckDB's does. PostgreSQL orders text by the
    database's collation, and a linguistic one ('en-US') puts 'a_b' before 'a-b' and 'é' before 'f', which can
    change which of two equally early rows a tie-break keeps: the landed text columns there are
    `collate "C"`, and every model after them inherits it. -#}
{% macro in_byte_order(expression) -%}
    {{ return(adapter.dispatch('in_byte_order', 'customer_lifecycle')(expression)) }}
{%- endmacro %}

{% macro default__in_byte_order(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro postgres__in_byte_order(expression) -%}
    ({{ expression }} collate "C")
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
