"""The driver's text summary (lifecycle_pipeline/summary.py)."""

from __future__ import annotations

from lifecycle_pipeline.summary import format_text


def test_output_paths_line_up_after_their_longest_label():
    """Labels longer than ten characters ('export-dir link') ran into their paths."""
    outputs = {"release": "/srv/r/current", "export-dir link": "/srv/marts", "activation": "/srv/a/current"}
    lines = format_text({"sources": {}, "outputs": outputs}).splitlines()[-3:]
    assert lines == [
        "  release          /srv/r/current",
        "  export-dir link  /srv/marts",
        "  activation       /srv/a/current",
    ]
