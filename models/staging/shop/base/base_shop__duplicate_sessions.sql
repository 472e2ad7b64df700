-- The usable landed rows of every session_id that has more than one, ranked by the contract's rule (rank 1 is kept).
with

ranked as (

    {{ ranked_duplicates(ref('base_shop__sessions'), 'sessions') }}

)

-- the landed model's columns and duplicate_rank (documented in _shop__models.yml)
select * from ranked  -- noqa: AM04
