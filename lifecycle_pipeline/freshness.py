"""Source freshness before the build: `dbt source freshness` on the raw data, reported per dataset.

Thresholds are the dbt vars freshness_warn_after_hours / freshness_error_after_hours (see
_shop__sources.yml); the age is measured from the newest usable timestamp of each raw dataset to now. On a
normal run a dataset folder's loaded files are answered from the published warehouse and only its new files
are parsed (macros/freshness.sql; the rule is in docs/driver.md, "Freshness").
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


def check(raw_dir: Path, target: str | None = None, published: Path | None = None) -> list[SourceFreshness] | None:
    """Run `dbt source freshness` on the raw files; None when dbt could not run at all (bad target, broken project).

    With `published` (the published warehouse, on a normal run), a dataset that is a folder has only the files
    not loaded yet parsed; the newest timestamp of the others is read from its base model there
    (macros/freshness.sql). If that run fails in any way, every file is parsed instead."""
    if published is not None:
        results = _run_freshness(raw_dir, target, published)
        if results is not None and not any(r.status == "runtime error" for r in results):
            return results
    return _run_freshness(raw_dir, target, None)


def _run_freshness(raw_dir: Path, target: str | None, published: Path | None) -> list[SourceFreshness] | None:
    """One `dbt source freshness` in-process. The raw views live in an in-memory database (nothing to clean
    up), and dbt keeps its state in a target folder of its own: the profile differs from the build's, and sharing
    one folder would make both parse the whole project on every run instead of only what changed."""
    from dbt.cli.main import dbtRunner

    previous = {name: os.environ.get(name) for name in ("LIFECYCLE_DUCKDB_PATH", "LIFECYCLE_RAW_DIR")}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LIFECYCLE_DUCKDB_PATH"] = ":memory:"
        os.environ["LIFECYCLE_RAW_DIR"] = str(raw_dir)
        os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / "profiles"))
        output = Path(tmp) / "sources.json"
        args = ["source", "freshness", "--project-dir", str(PROJECT_DIR), "--log-level", "none"]
        args += ["--output", str(output), "--target-path", str(_target_path())]
        if target:
            args += ["--target", target]
        if published is not None:
            args += ["--vars", json.dumps({"freshness_published_database": str(published)})]
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


def _target_path() -> Path:
    """dbt's target folder for freshness runs: `freshness/` inside the build's ($DBT_TARGET_PATH or target/)."""
    base = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return (base if base.is_absolute() else PROJECT_DIR / base) / "freshness"


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
