#!/usr/bin/env python3
"""Load raw files into a warehouse's raw tables, batch by batch, as an EL tool would (docs/engines.md).

    python scripts/load_raw.py --target postgres --raw-dir data/sample

For each dataset (orders, sessions, newsletter_signups, email_events) of `--raw-dir` — a file NAME.csv /
NAME.parquet or a folder NAME/ of such files, found as the DuckDB build finds them (Parquet wins) — every file is
one batch: its rows go into table `raw.<dataset>` with every column as text, plus `_source_file` (the file's
name) and `_loaded_at` (when this run loaded it), the shape of docs/raw-data-contract.md. A batch already in the
table is skipped (batches are immutable once loaded); a file that is not there yet is added. Columns are named
as in the file's header, lower-cased and trimmed; a column first seen in a later file is added to the table.

Files are read with DuckDB (the project's reader: RFC 4180 CSV, values as written, an empty field is NULL). A
CSV record with another number of fields than its header is not loaded (the count is printed): unlike the
DuckDB build, a warehouse has no quarantine for records an EL tool could not split. PostgreSQL text cannot
hold the NUL character: it is stored as U+001A (SUBSTITUTE), another control character, so every contract
check gives the same verdict.

Connection: the LIFECYCLE_PG_* variables of profiles/profiles.yml (host, port, user, password, dbname).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lifecycle_pipeline import postgres

DATASETS = ("orders", "sessions", "newsletter_signups", "email_events")
FORMATS = ("parquet", "csv")
LINEAGE = ("_source_file", "_loaded_at")


class LoadError(RuntimeError):
    """The raw folder or the warehouse is not as expected; the message says what to do."""


@dataclass(frozen=True)
class Batch:
    """One raw file of a dataset: loaded as one `_source_file` value."""

    dataset: str
    path: Path
    format: str

    @property
    def name(self) -> str:
        return self.path.name


def find_batches(raw_dir: Path, dataset: str, raw_format: str = "auto") -> list[Batch]:
    """The files of `dataset` in `raw_dir`, as the DuckDB build finds them (macros/register_raw_files.sql)."""
    formats = [raw_format] if raw_format in FORMATS else list(FORMATS)
    folder = raw_dir / dataset
    singles = [fmt for fmt in FORMATS if (raw_dir / f"{dataset}.{fmt}").is_file()]
    in_folder = {fmt: sorted(folder.glob(f"*.{fmt}")) for fmt in FORMATS} if folder.is_dir() else {}
    folder_formats = [fmt for fmt in FORMATS if in_folder.get(fmt)]
    if folder_formats and singles:
        raise LoadError(f"Raw dataset '{dataset}' is both a file and a folder in '{raw_dir}': keep one of them.")
    if len(folder_formats) > 1:
        raise LoadError(f"Raw folder {folder}/ mixes .parquet and .csv files: a folder holds one format.")
    for fmt in formats:
        if fmt in folder_formats:
            return [Batch(dataset, path, fmt) for path in in_folder[fmt]]
        if fmt in singles:
            return [Batch(dataset, raw_dir / f"{dataset}.{fmt}", fmt)]
    raise LoadError(
        f"Raw dataset '{dataset}' not found: expected {dataset}.csv, {dataset}.parquet or a folder {dataset}/ "
        f"of such files in '{raw_dir}'."
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class BatchReader:
    """Reads a batch's rows as text with DuckDB (one in-memory connection for the whole load)."""

    def __init__(self) -> None:
        self.connection = duckdb.connect()

    def _relation(self, batch: Batch) -> str:
        path = _literal(str(batch.path).replace("[", "[[]").replace("*", "[*]").replace("?", "[?]"))
        if batch.format == "parquet":
            return f"read_parquet({path})"
        return (
            f"read_csv({path}, header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
            "ignore_errors = true, store_rejects = true, rejects_table = 'load_rejects', "
            "rejects_scan = 'load_reject_scans')"
        )

    def columns(self, batch: Batch) -> dict[str, list[str]]:
        """Lower-cased, trimmed column name -> the file's spellings of it, in file order."""
        names = [
            row[0] for row in self.connection.execute(f"describe select * from {self._relation(batch)}").fetchall()
        ]
        by_name: dict[str, list[str]] = {}
        for name in names:
            by_name.setdefault(name.strip().lower(), []).append(name)
        return by_name

    def export_csv(self, batch: Batch, columns: dict[str, list[str]], out: Path) -> tuple[int, int]:
        """Write the batch's rows, columns in the order of `columns`, as headerless CSV to `out` (NULL = empty
        field, empty text = ""). Returns (rows written, CSV records not loaded)."""
        select = []
        for spellings in columns.values():
            value = spellings[0] if len(spellings) == 1 else f"coalesce({', '.join(map(_quote, spellings))})"
            if len(spellings) == 1:
                value = _quote(value)
            select.append(f"replace(cast({value} as varchar), chr(0), chr(26))")
        self.connection.execute("drop table if exists temp.main.load_rejects")
        self.connection.execute("drop table if exists temp.main.load_reject_scans")
        rows = self.connection.execute(
            f"copy (select {', '.join(select)} from {self._relation(batch)}) to {_literal(str(out))} "
            "(format csv, header false, quote '\"', escape '\"')"
        ).fetchone()
        written = int(rows[0]) if rows else 0
        rejected = 0
        if batch.format == "csv":
            rejected = self.connection.execute(
                "select count(distinct line_byte_position) from temp.main.load_rejects"
            ).fetchone()[0]
        return written, int(rejected)


def batches_to_load(raw_dir: Path, raw_format: str = "auto") -> Iterator[Batch]:
    for dataset in DATASETS:
        yield from find_batches(raw_dir, dataset, raw_format)


# --- PostgreSQL --------------------------------------------------------------------------------------------------


def load_postgres(raw_dir: Path, raw_format: str = "auto", log=print) -> dict[str, list[str]]:
    """Load the batches of `raw_dir` not in raw.<dataset> yet; one transaction per batch. Returns dataset -> the
    batch names loaded."""
    reader = BatchReader()
    loaded: dict[str, list[str]] = {dataset: [] for dataset in DATASETS}
    connection = postgres.connect()
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("create schema if not exists raw")
        with tempfile.TemporaryDirectory(prefix="lifecycle-load-") as scratch:
            for batch in batches_to_load(raw_dir, raw_format):
                file_columns = reader.columns(batch)
                with connection, connection.cursor() as cursor:
                    table = f"raw.{_quote(batch.dataset)}"
                    cursor.execute(
                        "select column_name from information_schema.columns where table_schema = 'raw' "
                        "and table_name = %s order by ordinal_position",
                        (batch.dataset,),
                    )
                    existing = [row[0] for row in cursor.fetchall()]
                    if not existing:
                        definitions = [f"{_quote(name)} text" for name in file_columns if name not in LINEAGE]
                        definitions += ["_source_file text not null", "_loaded_at timestamp not null"]
                        cursor.execute(f"create table {table} ({', '.join(definitions)})")
                    else:
                        cursor.execute(f"select 1 from {table} where _source_file = %s limit 1", (batch.name,))
                        if cursor.fetchone():
                            continue
                        for name in file_columns:
                            if name not in existing and name not in LINEAGE:
                                cursor.execute(f"alter table {table} add column {_quote(name)} text")
                    data_columns = {name: spellings for name, spellings in file_columns.items() if name not in LINEAGE}
                    out = Path(scratch) / f"{batch.dataset}.csv"
                    rows, rejected = reader.export_csv(batch, data_columns, out)
                    # Copied into a scratch table first, then inserted with the batch's lineage, in one transaction.
                    names = ", ".join(map(_quote, data_columns))
                    cursor.execute(
                        "create temporary table load_batch ("
                        + ", ".join(f"{_quote(name)} text" for name in data_columns)
                        + ") on commit drop"
                    )
                    with open(out, encoding="utf-8") as handle:
                        cursor.copy_expert(f"copy load_batch ({names}) from stdin with (format csv)", handle)
                    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
                    cursor.execute(
                        f"insert into {table} ({names}, _source_file, _loaded_at) "
                        f"select {names}, %s, cast(%s as timestamp) from load_batch",
                        (batch.name, loaded_at),
                    )
                if rows == 0:
                    # nothing to mark it loaded with: an empty file is read again next time, and adds nothing
                    log(f"  raw.{batch.dataset}: {batch.name} has no rows")
                    continue
                loaded[batch.dataset].append(batch.name)
                note = f" ({rejected} CSV records with a wrong field count not loaded)" if rejected else ""
                log(f"  raw.{batch.dataset}: {batch.name} {rows:,} rows{note}")
    finally:
        connection.close()
    return loaded


def load_spark(raw_dir: Path, raw_format: str = "auto", log=print) -> dict[str, list[str]]:
    """The `spark` target's session (profiles/profiles.yml) loads the files (lifecycle_pipeline/spark_raw.py); not
    while a dbt run holds the local Derby metastore (one JVM at a time)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lifecycle_pipeline.errors import PipelineError
    from lifecycle_pipeline.spark_raw import load_raw_spark
    from lifecycle_pipeline.spark_session import start_session

    try:
        spark = start_session()
        try:
            loaded = load_raw_spark(spark, raw_dir, raw_format)
        finally:
            spark.stop()
    except PipelineError as error:
        raise LoadError(str(error)) from None
    for dataset, batches in loaded.items():
        log(f"  raw.{dataset}: {len(batches)} new batch(es)")
    return loaded


LOADERS = {"postgres": load_postgres, "spark": load_spark}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=sorted(LOADERS), required=True, help="the warehouse to load into")
    parser.add_argument("--raw-dir", type=Path, required=True, help="folder with the raw datasets")
    parser.add_argument("--raw-format", choices=("auto", *FORMATS), default="auto", help="like var raw_format")
    args = parser.parse_args(argv)
    if not args.raw_dir.is_dir():
        parser.error(f"--raw-dir {args.raw_dir} is not a folder")
    try:
        print(f"Loading {args.raw_dir} into {args.target} (schema raw):")
        loaded = LOADERS[args.target](args.raw_dir, args.raw_format)
    except LoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    total = sum(len(names) for names in loaded.values())
    print(f"{total} new batch(es) loaded." if total else "Nothing new: every batch is loaded already.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
