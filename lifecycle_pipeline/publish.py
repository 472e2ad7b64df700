"""Build in a work copy, publish atomically: BI readers never see a half-built or failed run.

Layout for a published database `DIR/NAME.duckdb`:

    DIR/NAME.duckdb            the published database (BI tools open it read-only)
    DIR/.NAME.duckdb.work/     the work copy dbt builds into: DIR/.NAME.duckdb.work/NAME.duckdb
    DIR/NAME.duckdb.lock       held (flock) while a run is in progress, so two runs never interleave

The work copy starts as a copy of the published database (incremental models need the previous state;
`--full-refresh` starts empty) and keeps the same file name, because DuckDB names the catalog after the
file and views refer to it. Only after dbt and every check succeeded is it moved over the published file
with `os.replace` (atomic on one file system): a reader that has the old file open keeps reading the old
version; new readers get the new one. A failed or killed run leaves the published file as it was.

The Parquet export works the same way: every file is written to a temporary folder inside the export
folder, then each is renamed into place, and `_manifest.json` is written last.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .errors import PublishFailure

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, runs must not overlap
    fcntl = None


def work_path(database: Path) -> Path:
    return database.parent / f".{database.name}.work" / database.name


@contextlib.contextmanager
def run_lock(database: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock for the whole run; fail at once if another run holds it."""
    database.parent.mkdir(parents=True, exist_ok=True)
    lock_path = database.parent / f"{database.name}.lock"
    with open(lock_path, "a") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PublishFailure(
                    f"Another pipeline run is using {database} (lock {lock_path} is held). "
                    "Wait for it to finish; the published outputs stay readable meanwhile."
                ) from None
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_work_copy(database: Path) -> Path:
    """A work database: a copy of the published one (none yet on a first run); stale leftovers removed."""
    work = work_path(database)
    if work.parent.exists():
        shutil.rmtree(work.parent)
    work.parent.mkdir(parents=True)
    if database.exists():
        shutil.copyfile(database, work)
    return work


class BackgroundWorkCopy:
    """`prepare_work_copy` in a thread, started before the input checks: copying a large database is seconds of
    disk I/O, the checks are mostly dbt's start-up, so the two overlap instead of adding up."""

    def __init__(self, database: Path):
        self.database = database
        self._work: Path | None = None
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._copy, name="work-copy", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        try:
            self._work = prepare_work_copy(self.database)
        except OSError as error:
            self._error = error

    def wait(self) -> Path:
        """The work copy, once complete."""
        self._thread.join()
        if self._error is not None:
            raise PublishFailure(f"Could not copy {self.database} to a work copy: {self._error}") from None
        return self._work

    def discard(self) -> None:
        """Remove the work copy, after the copy (if still running) has finished."""
        self._thread.join()
        discard_work_copy(self.database)


def publish_database(work: Path, database: Path) -> None:
    """Checkpoint the work copy and move it over the published database in one atomic rename."""
    wal = work.with_name(work.name + ".wal")
    if wal.exists():
        with duckdb.connect(str(work)) as con:
            con.execute("checkpoint")
    try:
        os.replace(work, database)
    except OSError as error:
        raise PublishFailure(f"Could not move the new database {work} over {database}: {error}") from None
    shutil.rmtree(work.parent, ignore_errors=True)


def discard_work_copy(database: Path) -> None:
    shutil.rmtree(work_path(database).parent, ignore_errors=True)


def export_marts(con: duckdb.DuckDBPyConnection, export_dir: Path, manifest: dict) -> dict[str, int]:
    """Write every table of schema `marts` as DIR/<table>.parquet; return table -> row count."""
    tables = [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
        ).fetchall()
    ]
    export_dir.mkdir(parents=True, exist_ok=True)
    staging = export_dir / f".tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    counts: dict[str, int] = {}
    try:
        for table in tables:
            target = staging / f"{table}.parquet"
            quoted = "'" + str(target).replace("'", "''") + "'"
            # Sorted on every column so that the same marts always give the same files.
            con.execute(f"copy (select * from marts.{table} order by all) to {quoted} (format parquet)")
            counts[table] = con.execute(f"select count(*) from marts.{table}").fetchone()[0]
        manifest = {**manifest, "tables": counts, "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        (staging / "_manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
        for table in tables:
            os.replace(staging / f"{table}.parquet", export_dir / f"{table}.parquet")
        os.replace(staging / "_manifest.json", export_dir / "_manifest.json")
    except (OSError, duckdb.Error) as error:
        raise PublishFailure(f"Could not export the marts to {export_dir}: {error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
