-- person_key (macros/person_key.sql): the first 15 hex digits of md5(email) as a bigint. Expected values are
-- Python's int(hashlib.md5(email.encode()).hexdigest()[:15], 16): an md5 starting with zeros (leading zeros
-- kept out of the number), one starting with ff (the largest keys stay positive), and the two extremes of
-- person_key_from_md5. With a salt the key is the same number of md5(salt || email): Python's
-- int(hashlib.md5((salt + email).encode()).hexdigest()[:15], 16), a quote in the salt included. Salts are given
-- explicitly, so a salt set in the environment does not change these cases. Every row whose key differs is
-- returned.
with

cases as (

    select
        raw_cases.case_name,
        raw_cases.md5_hex,
        raw_cases.expected_key
    from (
        values
        -- md5 ff29ddbd632f761c…
        ('mixed.case@shop.test', {{ dbt.hash("'mixed.case@shop.test'") }}, 1149154422449960801),
        -- md5 004ed446eb9de03b…
        ('p1642@shop.test', {{ dbt.hash("'p1642@shop.test'") }}, 1386778078076419),
        -- md5 ff0bd1f04f9dcf7e…
        ('p670@shop.test', {{ dbt.hash("'p670@shop.test'") }}, 1148625845904596215),
        ('all zeros', '00000000000000000000000000000000', 0),
        ('all f', 'ffffffffffffffffffffffffffffffff', 1152921504606846975)
    ) as raw_cases (case_name, md5_hex, expected_key)

),

keyed as (

    select
        case_name,
        expected_key,
        {{ person_key_from_md5('md5_hex') }} as actual_key
    from cases

),

email_keyed as (

    select
        'person_key of the email' as case_name,
        1149154422449960801 as expected_key,
        {{ person_key("'mixed.case@shop.test'", salt='') }} as actual_key

    union all

    select
        'person_key with salt pepper' as case_name,
        166351181022338886 as expected_key,
        {{ person_key("'mixed.case@shop.test'", salt='pepper') }} as actual_key

    union all

    select
        'person_key with a quote in the salt' as case_name,
        933596580867756836 as expected_key,
        {{ person_key("'mixed.case@shop.test'", salt="o'salt") }} as actual_key

),

mismatches as (

    select * from keyed
    where actual_key is distinct from expected_key

    union all

    select * from email_keyed
    where actual_key is distinct from expected_key

)

select * from mismatches
