"""The Python driver of the customer_lifecycle dbt project: checks inputs, builds and tests with dbt, publishes a
release for BI and activation, and reports.

`scripts/run_pipeline.py` is the command-line entry point; each phase lives in its own module so that a
caller (a scheduler, a backfill loop) can reuse it.
"""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
