"""Build the customer-lifecycle pipeline on a folder of raw files (minimal driver; see README).

Runs `dbt build` in-process on the embedded DuckDB database and prints where the results are.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_RAW_DIR = PROJECT_DIR / "data" / "sample"
DEFAULT_DATABASE = PROJECT_DIR / "data" / "warehouse" / "customer_lifecycle.duckdb"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw-dir", type=Path, default=DEFAULT_RAW_DIR, help="folder with the raw files")
    parser.add_argument("--database", type=Path, default=DEFAULT_DATABASE, help="DuckDB file to build into")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["LIFECYCLE_RAW_DIR"] = str(args.raw_dir.resolve())
    os.environ["LIFECYCLE_DUCKDB_PATH"] = str(args.database.resolve())
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / "profiles"))
    args.database.parent.mkdir(parents=True, exist_ok=True)

    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["build", "--project-dir", str(PROJECT_DIR)])
    if not result.success:
        print("dbt build failed; see the log above.", file=sys.stderr)
        return 1
    print(f"Results: {args.database.resolve()} (schemas staging, intermediate, marts, quarantine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
