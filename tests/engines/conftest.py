from __future__ import annotations

import sys
from pathlib import Path

# The engine tests reuse the DuckDB harness of tests/python (dbt in-process, environment handling).
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parents[1] / "python"))
