"""A generated raw set cut into nightly batches, as an EL tool delivers them to a warehouse.

`scripts/generate_data.py` writes each dataset as one file covering the whole history up to its end date. The
engine tests need nights: `write_nights` cuts every dataset by the date of its event timestamp into a first
batch (everything up to `(nights - 1) * days` days before the end date, and every row whose timestamp is not a
usable date) and one batch per later stretch of `days` days, and returns, for each night, the raw folder as it
looks that night: a folder per dataset with one more file each night (`DATASET/night_<n>.csv`). The rows are
written back exactly as read (RFC 4180), so every engine and DuckDB see the same text.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

# The timestamp that decides the night a row arrives in.
EVENT_COLUMN = {
    "orders": "ordered_at",
    "sessions": "started_at",
    "newsletter_signups": "signed_up_at",
    "email_events": "occurred_at",
}


def _night_of(text: str, first_cut: dt.date, days: int, nights: int) -> int:
    """0-based night of a row: 0 up to `first_cut` (and for text that is not a date), then one per `days`."""
    try:
        day = dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return 0
    return min(max(-((first_cut - day).days // days), 0), nights - 1)


def write_nights(generated: Path, out: Path, end_date: dt.date, nights: int = 3, days: int = 7) -> list[Path]:
    """Cut the generated set in `generated` into `nights` batches per dataset; return the raw folder of each
    night (`out/night_<n>`, each holding the batches of nights 1..n)."""
    first_cut = end_date - dt.timedelta(days=(nights - 1) * days)
    batches: dict[str, list[list[list[str]]]] = {}
    headers: dict[str, list[str]] = {}
    for dataset, column in EVENT_COLUMN.items():
        with open(generated / f"{dataset}.csv", newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            position = header.index(column)
            rows: list[list[list[str]]] = [[] for _ in range(nights)]
            for row in reader:
                rows[_night_of(row[position], first_cut, days, nights)].append(row)
        headers[dataset], batches[dataset] = header, rows
    folders = []
    for night in range(1, nights + 1):
        folder = out / f"night_{night}"
        if folder.exists():
            shutil.rmtree(folder)
        for dataset, rows in batches.items():
            (folder / dataset).mkdir(parents=True)
            for index in range(night):
                with open(folder / dataset / f"night_{index + 1}.csv", "w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle, lineterminator="\n")
                    writer.writerow(headers[dataset])
                    writer.writerows(rows[index])
        folders.append(folder)
    return folders
