from __future__ import annotations

import sys
from pathlib import Path

# engine_compare.py beside this file is imported by the engine tests.
sys.path.insert(0, str(Path(__file__).parent))
