"""Input checks that run before dbt: the raw folder, its files, their required columns, the as-of date.

The required columns are read from the dbt source definition (columns with `meta: {required: true}` in
models/staging/shop/_shop__sources.yml), the same list the `register_raw_files` on-run-start hook checks,
so the driver and dbt can never disagree about the contract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from . import PROJECT_DIR
from .csv_files import check_csv_file, csv_header_fields, glob_literal
from .errors import InputError
from .parquet_files import check_parquet_utf8

SOURCES_YML = PROJECT_DIR / "models" / "staging" / "shop" / "_shop__sources.yml"
SOURCE_NAME = "shop"


@dataclass(frozen=True)
class RawFile:
    """One raw dataset: a file NAME.parquet / NAME.csv, or a folder NAME/ of such files (`files`)."""

    dataset: str
    path: Path
    columns: tuple[str, ...]
    files: tuple[Path, ...] = ()


def required_columns(sources_yml: Path = SOURCES_YML) -> dict[str, list[str]]:
    """Dataset name -> its required columns, in the order the source definition lists them."""
    document = yaml.safe_load(sources_yml.read_text(encoding="utf-8"))
    required: dict[str, list[str]] = {}
    for source in document.get("sources", []):
        if source.get("name") != SOURCE_NAME:
            continue
        for table in source.get("tables", []):
            columns = []
            for column in table.get("columns", []):
                meta = column.get("meta") or (column.get("config") or {}).get("meta") or {}
                if meta.get("required"):
                    columns.append(column["name"])
            required[table["name"]] = columns
    if not required:
        raise InputError(f"No tables of source '{SOURCE_NAME}' found in {sources_yml}; the project is incomplete.")
    return required


def parse_as_of(text: str | None) -> dt.date | None:
    """The --as-of option as a date; None means 'let dbt use its default' (the latest order date)."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--as-of '{text}' is not a real calendar date in the form YYYY-MM-DD (for example 2026-10-31)."
        ) from None


def parse_as_of_range(start: str, end: str, step: str) -> list[dt.date]:
    """--as-of-range START END --step Nd|Nw as the list of as-of dates, oldest first, END included."""
    first, last = parse_as_of(start), parse_as_of(end)
    text = step.strip().lower()
    unit = {"d": 1, "w": 7}.get(text[-1:])
    if unit is None or not text[:-1].isdigit() or int(text[:-1]) < 1:
        raise InputError(f"--step '{step}' is not a number of days or weeks such as 7d or 1w.")
    if last < first:
        raise InputError(f"--as-of-range: END {last} is before START {first}.")
    days = int(text[:-1]) * unit
    dates = [first + dt.timedelta(days=n) for n in range(0, (last - first).days + 1, days)]
    if dates[-1] != last:
        dates.append(last)  # END is always built, so the marts show it
    return dates


def find_raw_file(raw_dir: Path, dataset: str, raw_format: str = "auto") -> Path:
    """The dataset's file NAME.parquet / NAME.csv (Parquet wins unless the format is forced) or its folder NAME/
    of *.parquet or *.csv files: the same rules as the dbt hook, with a clear error for a folder that is empty
    or mixes formats and for a dataset that is both a file and a folder."""
    forced = raw_format.strip().lower()
    formats = [forced] if forced in ("csv", "parquet") else ["parquet", "csv"]
    singles = [raw_dir / f"{dataset}.{fmt}" for fmt in ("parquet", "csv") if (raw_dir / f"{dataset}.{fmt}").is_file()]
    folder = raw_dir / dataset
    if folder.is_dir():
        if singles:
            raise InputError(
                f"Raw dataset '{dataset}' is both a file ({singles[0].name}) and a folder ({dataset}/) in {raw_dir}: "
                "keep one of them (see docs/raw-data-contract.md)."
            )
        by_format = {fmt: folder_files(folder, fmt) for fmt in ("parquet", "csv")}
        present = [fmt for fmt, files in by_format.items() if files]
        if len(present) > 1:
            raise InputError(
                f"Raw folder {folder} mixes .parquet and .csv files ({by_format['parquet'][0].name}, "
                f"{by_format['csv'][0].name}): a folder holds one format (see docs/raw-data-contract.md)."
            )
        if not present:
            raise InputError(
                f"Raw folder {folder} holds no .parquet or .csv files: put the dataset's files in it, or remove it "
                f"and provide {dataset}.parquet or {dataset}.csv (see docs/raw-data-contract.md)."
            )
        if present[0] not in formats:
            raise InputError(
                f"Raw folder {folder} holds .{present[0]} files, but the raw format is forced to {forced} "
                "(LIFECYCLE_RAW_FORMAT / var raw_format)."
            )
        return folder
    for fmt in formats:
        candidate = raw_dir / f"{dataset}.{fmt}"
        if candidate.is_file():
            return candidate
    expected = " or ".join(f"{dataset}.{fmt}" for fmt in formats)
    raise InputError(
        f"Raw dataset '{dataset}' is missing: expected {expected}, or a folder {dataset}/ of such files, in {raw_dir}. "
        "Point --raw-dir at the folder with orders, sessions, newsletter_signups and email_events "
        "(see docs/raw-data-contract.md)."
    )


def folder_files(folder: Path, fmt: str) -> list[Path]:
    """The folder's files of one format, by name (the order that decides ties between files); others ignored."""
    return sorted(path for path in folder.glob(f"*.{fmt}") if path.is_file())


def file_columns(path: Path, con: duckdb.DuckDBPyConnection, check_content: bool = True) -> tuple[str, ...]:
    """Column names of a raw file, read the way the dbt hook reads them: the Parquet footer, or a CSV file's
    header row. With `check_content` the whole file is checked first (UTF-8 text, and for CSV one kind of line
    break and closed quotes: lifecycle_pipeline/csv_files.py, lifecycle_pipeline/parquet_files.py)."""
    if path.suffix != ".parquet":
        if check_content:
            check_csv_file(path)
        return csv_header_fields(path)
    quoted = "'" + glob_literal(path).replace("'", "''") + "'"
    reader = f"read_parquet({quoted})"
    try:
        rows = con.execute(f"describe select * from {reader}").fetchall()
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"Raw file {path} cannot be read as {path.suffix[1:]}: {first_line}") from None
    if check_content:
        check_parquet_utf8(path)
    return tuple(row[0] for row in rows)


def landed_batches(database: Path) -> dict[str, set[str]]:
    """Per dataset, the raw files (by name) the warehouse `database` has landed already: their content was
    checked on the run that landed them, and a landed batch is never read again (docs/design.md "Landing").
    Empty when the warehouse or a landed table cannot be read: then every file is checked."""
    landed: dict[str, set[str]] = {}
    if not database.is_file():
        return landed
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            for dataset in required_columns():
                rows = con.execute(f"select distinct _source_file from staging.base_shop__{dataset}").fetchall()
                landed[dataset] = {row[0] for row in rows}
    except duckdb.Error:
        return {}
    return landed


def check_raw_dir(raw_dir: Path, raw_format: str = "auto", landed: dict[str, set[str]] | None = None) -> list[RawFile]:
    """Every dataset present, every one of its files with every required column and readable text; raises
    InputError naming the file and the column (or line). Files of a dataset folder named in `landed` (see
    landed_batches) have only their columns checked."""
    if not raw_dir.is_dir():
        raise InputError(f"Raw folder {raw_dir} does not exist or is not a folder; pass --raw-dir DIR.")
    found = []
    # One connection for every file: opening one costs more than reading a file's columns (a year of daily
    # files is ~1,500 files).
    with duckdb.connect() as con:
        for dataset, required in required_columns().items():
            found.append(
                _check_dataset(raw_dir, dataset, required, raw_format, con, (landed or {}).get(dataset, set()))
            )
    return found


def raw_bytes(raw_files: list[RawFile]) -> int:
    """Total size of the raw files on disk."""
    return sum(file.stat().st_size for raw in raw_files for file in (raw.files or (raw.path,)))


def _check_dataset(
    raw_dir: Path, dataset: str, required: list[str], raw_format: str, con: duckdb.DuckDBPyConnection, landed: set[str]
) -> RawFile:
    """One dataset's file or folder, every file checked for the required columns."""
    path = find_raw_file(raw_dir, dataset, raw_format)
    files = tuple(folder_files(path, "parquet") or folder_files(path, "csv")) if path.is_dir() else (path,)
    all_columns: dict[str, None] = {}
    for file in files:
        columns = file_columns(file, con, check_content=not (path.is_dir() and file.name in landed))
        present = {column.strip().lower() for column in columns}
        missing = [column for column in required if column not in present]
        if missing:
            raise InputError(
                f"Raw file {file} is missing required column(s) {', '.join(repr(c) for c in missing)}. "
                f"Columns found: {', '.join(columns)}. See docs/raw-data-contract.md for the contract."
            )
        all_columns.update(dict.fromkeys(columns))
    return RawFile(dataset, path, tuple(all_columns), files if path.is_dir() else ())
