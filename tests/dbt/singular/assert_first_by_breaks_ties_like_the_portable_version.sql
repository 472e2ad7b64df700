-- first_by (macros/first_by.sql): the adapter's version and the portable one each return, per group, the
-- row that sorts first by (seen_at, email, sighting). Every row missing from or extra in either is returned.
-- k1: a tie on seen_at, broken by the email; k2: a tie on seen_at and email, broken by the sighting
-- (alphabetically: 'order:o10' before 'order:o9'); k3: one row.
with

sightings as (

    select
        raw_sightings.identifier,
        cast(raw_sightings.seen_at as {{ dbt.type_timestamp() }}) as seen_at,
        raw_sightings.email,
        raw_sightings.sighting
    from (
        values
        ('k1', '2025-06-01 09:00:00', 'b@shop.test', 'order:o1'),
        ('k1', '2025-06-01 09:00:00', 'a@shop.test', 'session:s9'),
        ('k1', '2025-06-02 09:00:00', 'a@shop.test', 'order:o0'),
        ('k2', '2025-06-01 09:00:00', 'a@shop.test', 'order:o9'),
        ('k2', '2025-06-01 09:00:00', 'a@shop.test', 'order:o10'),
        ('k2', '2025-06-01 10:00:00', 'a@shop.test', 'order:o1'),
        ('k3', '2025-06-03 09:00:00', 'c@shop.test', 'signup:n1')
    ) as raw_sightings (identifier, seen_at, email, sighting)

),

expected as (

    select
        expected_rows.identifier,
        cast(expected_rows.seen_at as {{ dbt.type_timestamp() }}) as seen_at,
        expected_rows.email,
        expected_rows.sighting
    from (
        values
        ('k1', '2025-06-01 09:00:00', 'a@shop.test', 'session:s9'),
        ('k2', '2025-06-01 09:00:00', 'a@shop.test', 'order:o10'),
        ('k3', '2025-06-03 09:00:00', 'c@shop.test', 'signup:n1')
    ) as expected_rows (identifier, seen_at, email, sighting)

),

dispatched as (

    {{ first_by('sightings', 'identifier', ['seen_at', 'email', 'sighting']) }}

),

portable as (

    {{ default__first_by('sightings', 'identifier', ['seen_at', 'email', 'sighting']) }}

),

{%- set columns = 'identifier, seen_at, email, sighting' %}

differences as (

    select
        'missing from first_by' as problem,
        {{ columns }}
    from (
        select {{ columns }} from expected
        except
        select {{ columns }} from dispatched
    ) as missing

    union all

    select
        'extra in first_by' as problem,
        {{ columns }}
    from (
        select {{ columns }} from dispatched
        except
        select {{ columns }} from expected
    ) as extra

    union all

    select
        'missing from default__first_by' as problem,
        {{ columns }}
    from (
        select {{ columns }} from expected
        except
        select {{ columns }} from portable
    ) as missing

    union all

    select
        'extra in default__first_by' as problem,
        {{ columns }}
    from (
        select {{ columns }} from portable
        except
        select {{ columns }} from expected
    ) as extra

)

select * from differences
