#!/usr/bin/env python3
"""Build and test the customer-lifecycle pipeline, then publish a release (see `--help` and docs/driver.md)."""

from __future__ import annotations

import sys
from pathlib import Path

# Runnable from a plain checkout too (the package is also installed by `pip install -e .`).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lifecycle_pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
