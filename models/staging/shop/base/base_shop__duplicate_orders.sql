-- The usable landed rows of every order_id that has more than one, ranked by the contract's rule (rank 1 is kept).
with

ranked as (

    {{ ranked_duplicates(ref('base_shop__orders'), 'orders') }}

),

final as (

    select * from ranked

)

select * from final
