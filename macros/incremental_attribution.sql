{#- Pre-hook of int_sessions__attributed (README "Incremental refresh and history"): before an incremental run
    writes the sessions that changed, delete the stored sessions that no longer belong in the model —
      - those at or after the as-of end (the as-of date moved back), and
      - those whose staging group was re-derived since the stored rows were written (a staged row newer than
        the newest stored `loaded_at`) and that are no longer a usable session inside the window: quarantined
        now (e.g. a duplicate that lost), or moved past the as-of end by an edit.
    Sessions that are still usable are not deleted here: the model writes them again (delete+insert).
    `sessions_base` is base_shop__sessions (every raw row, quarantined ones too), `sessions` stg_shop__sessions. -#}
{% macro delete_sessions_gone_from_attribution(sessions_base, sessions, as_of) -%}
    {%- if is_incremental() %}
        delete from {{ this }}
        where
            started_at >= (select as_of_end_at from {{ as_of }})
            or session_id in (
                select restaged.session_id
                from {{ sessions_base }} as restaged
                where restaged.loaded_at > (select max(stored.loaded_at) from {{ this }} as stored)

                except

                select usable.session_id
                from {{ sessions }} as usable
                where
                    usable.loaded_at > (select max(stored.loaded_at) from {{ this }} as stored)
                    and usable.started_at < (select as_of_end_at from {{ as_of }})
            )
    {%- endif %}
{%- endmacro %}
