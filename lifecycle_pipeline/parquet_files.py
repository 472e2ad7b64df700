"""What a raw Parquet file must be before dbt reads it (docs/raw-data-contract.md "Strict parsing").

Parquet stores text as UTF-8 by its own specification, but a writer can break that promise. DuckDB then stops a
model mid-build with "Invalid string encoding"; this check stops the run before any model runs (exit 2) with the
file, the row, the column and the bytes, like the CSV check. It reads only the text columns, a row group at a
time, and lets Arrow's validation (C++) look at every value.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .csv_files import CONTRACT
from .errors import InputError

_INDEX = re.compile(r"string index (\d+)")


def check_parquet_utf8(path: Path) -> None:
    """Raise InputError naming the file, the row (1 = the first data row), the column and the bytes when a text
    column of the Parquet file `path` holds a value that is not valid UTF-8."""
    parquet = pq.ParquetFile(path)
    fields = parquet.schema_arrow
    text = [field.name for field in fields if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)]
    if not text:
        return
    rows_before = 0
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group, columns=text)
        for name in text:
            offset = rows_before
            for chunk in table.column(name).chunks:
                try:
                    chunk.validate(full=True)
                except pa.ArrowInvalid as error:
                    _raise_not_utf8(path, name, chunk, offset, str(error))
                offset += len(chunk)
        rows_before += table.num_rows


def _raise_not_utf8(path: Path, column: str, chunk: pa.Array, rows_before: int, message: str) -> None:
    found = _INDEX.search(message)
    index = int(found.group(1)) if found else 0
    value = chunk.view(pa.binary())[index].as_py() or b""
    try:
        value.decode("utf-8")
        cause = message
    except UnicodeDecodeError as error:
        bad = value[error.start : error.end]
        cause = f"byte 0x{bad[0]:02X} at byte {error.start} of the value is no UTF-8 ({error.reason})"
    raise InputError(
        f"Raw file {path} is not valid UTF-8: row {rows_before + index + 1}, column {column!r}: {cause}. "
        f"Write the file's text columns as UTF-8. {CONTRACT}"
    )
