#!/usr/bin/env python3
"""Load raw files into Spark tables raw.<dataset>, one `_source_file` batch per file, skipping batches already
loaded (lifecycle_pipeline/spark_raw.py). For tests, trials and users without an EL tool:

    python scripts/load_raw_spark.py --raw-dir data/sample && dbt build --target spark

It starts the `spark` target's session (profiles/profiles.yml, same environment variables as dbt), so run it
from the project folder and not while a dbt run holds the local Derby metastore (one JVM at a time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lifecycle_pipeline.errors import PipelineError  # noqa: E402
from lifecycle_pipeline.spark_raw import load_raw_spark  # noqa: E402
from lifecycle_pipeline.spark_session import start_session  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load raw files into Spark tables raw.<dataset>, batch by batch.")
    parser.add_argument("--raw-dir", required=True, type=Path, help="folder with the four raw datasets")
    parser.add_argument("--raw-format", default="auto", choices=("auto", "csv", "parquet"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        spark = start_session()
        try:
            loaded = load_raw_spark(spark, args.raw_dir, args.raw_format)
        finally:
            spark.stop()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    for dataset, batches in loaded.items():
        print(f"raw.{dataset}: {len(batches)} new batch(es) {', '.join(batches)}")
    print(f"loaded in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
