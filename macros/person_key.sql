{#- The person key: the first 15 hex digits (60 bits) of the md5 of the normalised email, as a bigint. The same
    number on DuckDB, PostgreSQL and Spark, always positive, and a quarter of the 32-character md5 text it
    replaces: the key is in every per-person table, every join and every history row (docs/benchmarks.md, tenth
    round). Two persons share a key with odds of about n² / 2^61 (1 in 23,000 at 10 million persons); the
    unique tests on the marts' customer_key would fail the build, nothing would merge silently.

    With a secret salt (var customer_key_salt, from $LIFECYCLE_KEY_SALT) the md5 is taken of salt || email: a
    keyed hash, so whoever holds a list of emails but not the salt cannot compute the keys and re-identify the
    rows BI reads. Without one, anybody can: the key is the plain md5 of the email. The salt is part of every
    stored key (the stage history too): set it before the first run and keep it. `salt` overrides the var. -#}
{% macro person_key(email, salt=none) -%}
    {%- set salt = var('customer_key_salt', '') if salt is none else salt -%}
    {%- set salt = (salt or '') | string -%}
    {%- if salt -%}
        {{ person_key_from_md5(dbt.hash(dbt.concat(["'" ~ salt | replace("'", "''") ~ "'", email]))) }}
    {%- else -%}
        {{ person_key_from_md5(dbt.hash(email)) }}
    {%- endif -%}
{%- endmacro %}

{#- The same key from an md5 hex text already computed (also how a stored md5 key is converted). -#}
{% macro person_key_from_md5(md5_hex) -%}
    {{ return(adapter.dispatch('person_key_from_md5', 'customer_lifecycle')(md5_hex)) }}
{%- endmacro %}

{% macro default__person_key_from_md5(md5_hex) -%}
    cast(cast('x' || lpad(substr({{ md5_hex }}, 1, 15), 16, '0') as bit(64)) as bigint)
{%- endmacro %}

{#- DuckDB reads a 0x-prefixed text as a hexadecimal number. -#}
{% macro duckdb__person_key_from_md5(md5_hex) -%}
    cast('0x' || substr({{ md5_hex }}, 1, 15) as bigint)
{%- endmacro %}

{% macro spark__person_key_from_md5(md5_hex) -%}
    cast(conv(substr({{ md5_hex }}, 1, 15), 16, 10) as bigint)
{%- endmacro %}
