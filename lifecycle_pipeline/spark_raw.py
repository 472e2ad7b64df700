"""Raw files -> Spark tables `raw.<dataset>`, batch by batch, as an EL tool lands them (raw-data-contract.md).

Each raw file is one batch: its rows are appended to `raw.<dataset>` with every source column as text, the
file's name as `_source_file` and the load time as `_loaded_at`. A batch already in the table is skipped (a
batch is immutable once loaded), so loading a folder that gained a file appends only that file; a dataset given
as one file NAME.csv is one batch named NAME.csv. Nothing is deleted or merged: the tables are plain Parquet.

CSV files are checked first as the DuckDB path checks them (UTF-8, one kind of line break, closed quotes) and read
as RFC 4180 text: an empty field is NULL, a quoted field may hold commas, quotes and line breaks. Header names are
matched to the source's columns lower-cased and trimmed; a column the file lacks is NULL. A record with another
number of fields than its header stops the load naming the file (DuckDB lands such a record as a quarantined
row; a warehouse gets its tables from an EL tool, which has its own rules for them).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import yaml

from .csv_files import check_csv_file
from .errors import InputError
from .inputs import SOURCE_NAME, SOURCES_YML, find_raw_file, folder_files

RAW_SCHEMA = "raw"


def source_columns(sources_yml: Path = SOURCES_YML) -> dict[str, list[str]]:
    """Dataset -> every column the source `shop` declares, in order (the raw table's columns)."""
    document = yaml.safe_load(sources_yml.read_text(encoding="utf-8"))
    for source in document.get("sources", []):
        if source.get("name") == SOURCE_NAME:
            return {table["name"]: [column["name"] for column in table["columns"]] for table in source["tables"]}
    raise InputError(f"No source '{SOURCE_NAME}' in {sources_yml}; the project is incomplete.")


def raw_batches(raw_dir: Path, dataset: str, raw_format: str = "auto") -> list[Path]:
    """The files of a dataset, one batch each: the files of its folder, or its one file."""
    found = find_raw_file(raw_dir, dataset, raw_format)
    if not found.is_dir():
        return [found]
    return folder_files(found, "parquet") or folder_files(found, "csv")


def read_batch(path: Path, columns: list[str]) -> pa.Table:
    """One raw file as an Arrow table of `columns` (text, NULL for an empty field or a missing column)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        check_csv_file(path)
        try:
            table = pa_csv.read_csv(
                path,
                read_options=pa_csv.ReadOptions(block_size=1 << 24),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    # every field as text: nothing sniffed, nothing but the empty field is NULL
                    column_types=_all_text(path),
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as error:
            raise InputError(f"Raw file {path} cannot be loaded: {error}") from None
    by_name: dict[str, list[pa.ChunkedArray]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        by_name.setdefault(name.strip().lower(), []).append(column.cast(pa.string()))
    arrays = []
    for name in columns:
        found = by_name.get(name, [])
        if not found:
            arrays.append(pa.nulls(table.num_rows, pa.string()))
        else:
            arrays.append(found[0] if len(found) == 1 else pc.coalesce(*found))
    return pa.table(arrays, names=columns)


def _all_text(path: Path) -> dict[str, pa.DataType]:
    from .csv_files import csv_header_fields

    return {name: pa.string() for name in csv_header_fields(path)}


def load_raw_spark(spark, raw_dir: Path, raw_format: str = "auto", schema: str = RAW_SCHEMA) -> dict[str, list[str]]:
    """Append the batches of `raw_dir` not loaded yet to `schema.<dataset>`; return dataset -> batches loaded."""
    from pyspark.sql import functions as F  # noqa: N812

    spark.sql(f"create database if not exists {schema}")
    loaded: dict[str, list[str]] = {}
    for dataset, columns in source_columns().items():
        table = f"{schema}.{dataset}"
        column_list = ", ".join(f"`{name}` string" for name in columns)
        spark.sql(
            f"create table if not exists {table} ({column_list}, _source_file string, _loaded_at timestamp) "
            "using parquet"
        )
        stored = {row[0] for row in spark.sql(f"select distinct _source_file from {table}").collect()}
        loaded[dataset] = []
        for path in raw_batches(Path(raw_dir), dataset, raw_format):
            if path.name in stored:
                continue
            batch = read_batch(path, columns)
            frame = spark.createDataFrame(batch, schema=", ".join(f"`{name}` string" for name in columns))
            frame = frame.withColumn("_source_file", F.lit(path.name)).withColumn("_loaded_at", F.current_timestamp())
            frame.write.insertInto(table)
            loaded[dataset].append(path.name)
    return loaded
