{#- Vars the project once read and no longer does, each with what took its place. dbt ignores a var nobody
    reads, so a scheduler that still passes one would change nothing without a word: this on-run-start hook
    says so instead. Returns no SQL. -#}
{% macro warn_retired_vars() -%}
    {%- set retired = {
        'incremental_lookback_days': 'staging now re-derives exactly the ids whose raw rows changed, so there is no '
            ~ 'window to set (README "Incremental refresh and history")',
        'stage_history_keep_days': 'the stage history keeps only changes (one row per person per change of '
            ~ 'stage or tracked overlay), so it grows with the changes, not with the dates, and no date is forgotten '
            ~ '(models/marts/history/_history__docs.md)',
    } -%}
    {%- if execute -%}
        {%- for name, replacement in retired.items() -%}
            {%- if var(name, none) is not none -%}
                {%- do exceptions.warn(
                    "var '" ~ name ~ "' is no longer read, so its value " ~ var(name) ~ " changes nothing: "
                    ~ replacement ~ ". Remove it from --vars."
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
