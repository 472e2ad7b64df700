{#- 64-bit floating point for ratios and averages (dbt.type_float() is a 32-bit FLOAT on DuckDB, too coarse
    to compare overdue_ratio with at_risk_factor exactly). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- Amounts (orders.amount, sessions.cart_value): six decimals on every engine. dbt.type_numeric() is numeric(28,6)
    on DuckDB and Spark but unconstrained `numeric` on PostgreSQL, which would keep a 7th decimal that the contract
    calls invalid (holds_exactly in macros/cleaning.sql). -#}
{% macro type_amount() -%}
    decimal(28, 6)
{%- endmacro %}

{#- A double rounded to a whole number, halves away from zero (2.5 -> 3, -2.5 -> -3), as DuckDB's and Spark's
    round() do; PostgreSQL's round(double precision) rounds halves to even (2.5 -> 2). Still a double. -#}
{% macro round_half_away_from_zero(expression) -%}
    {{ return(adapter.dispatch('round_half_away_from_zero', 'customer_lifecycle')(expression)) }}
{%- endmacro %}

{% macro default__round_half_away_from_zero(expression) -%}
    round({{ expression }})
{%- endmacro %}

{#- Exact in double arithmetic: the fraction abs(x) - floor(abs(x)) is computed without rounding error. -#}
{% macro postgres__round_half_away_from_zero(expression) -%}
    (sign({{ expression }}) * case
        when abs({{ expression }}) - floor(abs({{ expression }})) >= 0.5 then ceil(abs({{ expression }}))
        else floor(abs({{ expression }}))
    end)
{%- endmacro %}

{#- The named RFM segment of an (R, F) cell. The 25 cells are partitioned (docs/lifecycle-definitions.md),
    so every buyer gets exactly one segment; NULL scores (non-buyers) give NULL. -#}
{% macro rfm_segment(r_score, f_score) -%}
    case
        when {{ r_score }} is null or {{ f_score }} is null then null
        when {{ r_score }} = 5 and {{ f_score }} >= 4 then 'champions'
        when {{ r_score }} in (3, 4) and {{ f_score }} >= 4 then 'loyal'
        when {{ r_score }} >= 4 and {{ f_score }} in (2, 3) then 'potential_loyalist'
        when {{ r_score }} = 5 and {{ f_score }} = 1 then 'new_customers'
        when {{ r_score }} = 4 and {{ f_score }} = 1 then 'promising'
        when {{ r_score }} = 3 and {{ f_score }} = 3 then 'need_attention'
        when {{ r_score }} = 3 and {{ f_score }} <= 2 then 'about_to_sleep'
        when {{ f_score }} = 5 then 'cannot_lose_them'
        when {{ f_score }} in (3, 4) then 'at_risk'
        when {{ r_score }} = 1 and {{ f_score }} = 1 then 'lost'
        else 'hibernating'
    end
{%- endmacro %}

{#- RFM score 1..5 = 1 + floor(5 × percent_rank), capped at 5, where percent_rank = (rank − 1) / (n − 1).
    Computed from the integer rank and count so that a rank landing exactly on a fifth is not pushed
    below it by floating-point error. A single buyer has percent_rank 0, so score 1. -#}
{% macro score_from_rank(rank_expression, count_expression) -%}
    cast(
        case
            when {{ count_expression }} <= 1 then 1
            else least(
                5,
                1 + floor(
                    cast(5 * ({{ rank_expression }} - 1) as {{ type_double() }}) / ({{ count_expression }} - 1)
                )
            )
        end
        as {{ dbt.type_int() }}
    )
{%- endmacro %}

{#- percent_rank() from an integer rank and the row count, as the window function defines it:
    (rank − 1) / (n − 1), 0 for a single row. Same double division as DuckDB's percent_rank(), so sums of
    it (vip_score) come out bit for bit the same. -#}
{% macro percent_rank_from_rank(rank_expression, count_expression) -%}
    case
        when {{ count_expression }} <= 1 then 0
        else cast({{ rank_expression }} - 1 as {{ type_double() }}) / ({{ count_expression }} - 1)
    end
{%- endmacro %}

{#- One row per distinct value of `column` in `relation` with value_rank = the rank() over (order by `column`
    `direction` nulls last) of every row holding it: 1 + the rows ordered before the value (NULL, if present,
    ranks last). For a column with few distinct values (days, order counts) this sorts a few thousand
    values instead of every row, which a rank() window does; join the result back on the value.
    `counted` (a boolean SQL expression on the relation's columns; default: every row) limits the rows that
    are ranked: value_rank is then 1 + the counted rows ordered before the value, for every value in the
    relation — the rank a row that is not counted would have if it were ranked among the counted ones. -#}
{% macro rank_by_value_counts(relation, column, direction='asc', counted=none) -%}
    {%- if direction not in ('asc', 'desc') -%}
        {{ exceptions.raise_compiler_error("rank_by_value_counts: direction must be 'asc' or 'desc', got " ~ direction) }}
    {%- endif -%}
    select
        {{ column }},
        cast(
            1 + coalesce(
                sum(value_rows) over (
                    order by {{ column }} {{ direction }} nulls last
                    rows between unbounded preceding and 1 preceding
                ),
                0
            )
            as {{ dbt.type_bigint() }}
        ) as value_rank
    from (
        select
            {{ column }},
            {% if counted is none -%}
            count(*) as value_rows
            {%- else -%}
            sum(case when {{ counted }} then 1 else 0 end) as value_rows
            {%- endif %}
        from {{ relation }}
        group by {{ column }}
    ) as value_counts
{%- endmacro %}
