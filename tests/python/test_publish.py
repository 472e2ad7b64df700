"""The work copy the driver builds into, made beside the input checks (no dbt)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lifecycle_pipeline import publish  # noqa: E402
from lifecycle_pipeline.errors import PublishFailure  # noqa: E402


def test_background_copy_is_a_byte_copy_of_the_published_database_and_is_discarded(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    database.write_bytes(bytes(range(256)) * 4096)
    copy = publish.BackgroundWorkCopy(database)

    work = copy.wait()

    assert work == tmp_path / ".warehouse.duckdb.work" / "warehouse.duckdb"
    assert work.read_bytes() == database.read_bytes()
    copy.discard()
    assert not work.parent.exists()
    assert database.exists()


def test_background_copy_of_a_first_run_is_an_empty_work_folder(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    copy = publish.BackgroundWorkCopy(database)

    work = copy.wait()

    assert work.parent.is_dir() and not work.exists()
    copy.discard()


def test_background_copy_failure_is_a_publish_failure_naming_the_database(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    database.write_bytes(b"published")
    # A file where the work folder goes: the copy cannot be prepared.
    (tmp_path / ".warehouse.duckdb.work").write_text("in the way")
    copy = publish.BackgroundWorkCopy(database)

    with pytest.raises(PublishFailure, match="warehouse.duckdb"):
        copy.wait()
    assert database.read_bytes() == b"published"
