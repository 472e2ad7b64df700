"""Source freshness before the build: `dbt source freshness` on the raw data, reported per dataset.

Thresholds are the dbt vars freshness_warn_after_hours / freshness_error_after_hours (see
_shop__sources.yml); the age is measured from the newest usable timestamp of each raw dataset to now.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import PROJECT_DIR
from .errors import StaleInput

MODES = ("error", "warn", "off")


@dataclass
class SourceFreshness:
    dataset: str
    status: str  # pass, warn, error (stale beyond error_after) or runtime error
    newest: str | None
    age_hours: float | None

    def as_dict(self) -> dict:
        return {"status": self.status, "newest": self.newest, "age_hours": self.age_hours}


def check(raw_dir: Path, target: str | None = None) -> list[SourceFreshness] | None:
    """Run `dbt source freshness` on the raw files, against a throwaway database (the on-run-start hook maps
    the files to views there); None when dbt could not run at all (bad target, broken project)."""
    from dbt.cli.main import dbtRunner

    previous = {name: os.environ.get(name) for name in ("LIFECYCLE_DUCKDB_PATH", "LIFECYCLE_RAW_DIR")}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LIFECYCLE_DUCKDB_PATH"] = str(Path(tmp) / "freshness.duckdb")
        os.environ["LIFECYCLE_RAW_DIR"] = str(raw_dir)
        os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / "profiles"))
        output = Path(tmp) / "sources.json"
        args = ["source", "freshness", "--project-dir", str(PROJECT_DIR), "--log-level", "none"]
        args += ["--output", str(output)]
        if target:
            args += ["--target", target]
        try:
            dbtRunner().invoke(args)
            if not output.exists():
                return None
            results = json.loads(output.read_text())["results"]
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    found = []
    for item in sorted(results, key=lambda r: r["unique_id"]):
        age = item.get("max_loaded_at_time_ago_in_s")
        found.append(
            SourceFreshness(
                dataset=item["unique_id"].rsplit(".", 1)[-1],
                status=item["status"],
                newest=item.get("max_loaded_at"),
                age_hours=None if age is None else round(age / 3600, 1),
            )
        )
    return found


def enforce(results: list[SourceFreshness], mode: str) -> list[str]:
    """Messages for stale datasets; raises StaleInput in mode 'error' when one is beyond the error threshold."""
    messages = [
        f"{r.dataset}: newest usable timestamp {r.newest} is {r.age_hours} h old ({r.status})"
        for r in results
        if r.status != "pass"
    ]
    failing = [r for r in results if r.status == "error"]
    if failing and mode == "error":
        raise StaleInput(
            "raw data is stale beyond freshness_error_after_hours: "
            + "; ".join(m for m in messages if m.split(":")[0] in {r.dataset for r in failing})
            + ". Nothing was built. Deliver fresh files, or run with --freshness warn (historic data)."
        )
    return messages
