"""The release under faults, on a small generated data set: SIGKILL at moments spread over whole driver runs (from
outside, at offsets measured on a reference run) and right after each step of the publish step (the
LIFECYCLE_FAULT_AT hook); after every kill the current release is whole and the runs after it succeed. Then what
BI can read: only the marts, no email anywhere, keys salted, files owner-only; unwritable output paths.

To keep it affordable dbt runs in the reference run, the runs killed from outside and the last run; the
publish-step kills rerun the release phase alone on the built warehouse (cli.main(build=False)).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from dbt_harness import PROJECT_DIR, WITHOUT_UNIT_TESTS
from test_run_pipeline import DRIVER, run_driver

sys.path.insert(0, str(PROJECT_DIR))
import forked_driver  # noqa: E402

from lifecycle_pipeline import publish  # noqa: E402
from lifecycle_pipeline.errors import EXIT_BAD_INPUT, EXIT_PUBLISH_FAILED  # noqa: E402

SALT = "kill-loop-salt"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


class Setup:
    """Paths and environment of the module's runs."""

    def __init__(self, work: Path):
        self.work = work
        self.raw = work / "raw"
        self.database = work / "warehouse" / "lifecycle.duckdb"
        self.releases = work / "releases"
        self.activation = work / "activation"
        self.env = {
            **os.environ,
            "DBT_TARGET_PATH": str(work / "dbt-target"),
            "DBT_LOG_PATH": str(work / "dbt-logs"),
            "LIFECYCLE_KEY_SALT": SALT,
            **WITHOUT_UNIT_TESTS,
        }
        for name in ("LIFECYCLE_DUCKDB_PATH", "LIFECYCLE_RAW_DIR", "LIFECYCLE_THREADS", "LIFECYCLE_FAULT_AT"):
            self.env.pop(name, None)

    def args(self, *extra: str) -> list[str]:
        return [
            "--raw-dir", str(self.raw), "--database", str(self.database), "--release-dir", str(self.releases),
            "--activation-dir", str(self.activation), "--freshness", "off", *extra,
        ]  # fmt: skip

    def driver(self, *extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, str(DRIVER), *self.args(*extra)],
            cwd=PROJECT_DIR, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def release_only(self, fault: str | None = None, *extra: str) -> subprocess.CompletedProcess:
        """The release phase alone, in a forked process (a kill ends it as it would end the driver)."""
        env = {**self.env, **({"LIFECYCLE_FAULT_AT": fault} if fault else {})}
        return forked_driver.release_only(self.args("--quiet", *extra), env, PROJECT_DIR, self.work / "stderr.txt")


class Timeline:
    """Reads a run's stderr in a thread, noting when each line arrived (seconds since start)."""

    def __init__(self, process: subprocess.Popen):
        self.process, self.start, self.lines = process, time.monotonic(), []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append((time.monotonic() - self.start, line.rstrip()))

    def finish(self, timeout: float = 900) -> int:
        code = self.process.wait(timeout=timeout)
        self.thread.join(timeout=30)
        self.process.stdout.close()
        self.process.stderr.close()
        return code

    def at(self, marker: str) -> float:
        return next(t for t, line in self.lines if marker in line)

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


# --- what "whole" means --------------------------------------------------------------------------------


def tables_of(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        return {name: con.execute(f'select count(*) from marts."{name}"').fetchone()[0] for name in names}


def assert_whole(setup: Setup) -> tuple[str, str]:
    """The current BI release and the current activation release are each complete and of one run: manifest row
    counts = Parquet rows = release database rows, one as-of date, the report of the same run. Returns their ids."""
    ids = []
    for root, with_database in ((setup.releases, True), (setup.activation, False)):
        name = publish.current_release(root)
        assert name is not None and publish.RELEASE_NAME.match(name), f"{root}: no current release"
        folder = root / publish.CURRENT
        manifest = json.loads((folder / publish.MANIFEST).read_text())
        assert manifest["release"] == name
        parquet = {path.stem: pq.read_metadata(path).num_rows for path in folder.glob("*.parquet")}
        assert parquet == manifest["tables"], name
        if with_database:
            assert tables_of(folder / publish.DATABASE) == manifest["tables"], name
            as_of = pq.read_table(folder / "customer_lifecycle.parquet", columns=["as_of_date"]).column(0).unique()
            assert [str(d) for d in as_of.to_pylist()] == [manifest["as_of_date"]]
            report = (folder / publish.REPORT).read_text()
            assert manifest["run_started_at"] in report and f"as of {manifest['as_of_date']}" in report
        ids.append(name)
    return ids[0], ids[1]


def leftovers(setup: Setup) -> list[str]:
    """Temporary files and folders, and releases that are not current, newer than the current one."""
    found = []
    for root in (setup.releases, setup.activation):
        current = publish.current_release(root) or ""
        for entry in root.iterdir():
            if publish.TEMPORARY in entry.name or (publish.RELEASE_NAME.match(entry.name) and entry.name > current):
                found.append(f"{root.name}/{entry.name}")
    return found


def content_digest(setup: Setup) -> dict[str, str]:
    """Every released table's rows, order-free: equal digests = the same data."""
    digests = {}
    for root in (setup.releases, setup.activation):
        for path in sorted((root / publish.CURRENT).glob("*.parquet")):
            rows = sorted(map(repr, pq.read_table(path).to_pylist()))
            digests[path.stem] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


# --- the module's runs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Generated raw data, and one complete run on it with the stderr timeline: the offsets the kills use."""
    setup = Setup(tmp_path_factory.mktemp("release"))
    generated = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "generate_data.py"), "--out", str(setup.raw),
         "--customers", "120"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    timeline = Timeline(setup.driver("--json"))
    assert timeline.finish() == 0, timeline.text()[-3000:]
    total = timeline.lines[-1][0]
    moments = {
        "inputs": timeline.at("inputs ok"),
        "dbt_start": timeline.at("dbt build"),
        "dbt_done": timeline.at("dbt done"),
        "released": timeline.at("is current"),
        "total": total,
    }
    ids = assert_whole(setup)
    return {"setup": setup, "moments": moments, "ids": ids, "digest": content_digest(setup)}


def test_kills_from_outside_at_measured_moments_leave_a_whole_release(reference):
    """SIGKILL from outside at four moments spread over a run: in the input checks, early and late in dbt, in the
    release (with the twelve injected kills of the publish step below: sixteen).
    Each killed run starts from what the previous kill left; every one of them must still be running when
    killed (it got past the point where the previous one stopped) and leave a whole release; the run after the
    last kill completes and publishes exactly the reference data."""
    setup, moments = reference["setup"], reference["moments"]
    dbt = moments["dbt_done"] - moments["dbt_start"]
    offsets = [
        moments["inputs"] * 0.5,
        moments["dbt_start"] + 0.15 * dbt,
        moments["dbt_start"] + 0.9 * dbt,
        (moments["dbt_done"] + moments["released"]) / 2,
    ]
    killed_at = []
    for offset in offsets:
        timeline = Timeline(setup.driver())
        time.sleep(offset)
        timeline.process.send_signal(signal.SIGKILL)
        code = timeline.finish()
        last = timeline.lines[-1][1] if timeline.lines else "(no output yet)"
        # -9: killed while running; 0: the run finished just before the signal (a slower reference run)
        assert code in (-9, 0), f"run killed at {offset:.1f}s failed before: exit {code}\n{timeline.text()[-2000:]}"
        killed_at.append((round(offset, 1), code, last[:80]))
        assert assert_whole(setup)
    print(f"reference moments (s): { ({k: round(v, 1) for k, v in moments.items()}) }; kills: {killed_at}")
    timeline = Timeline(setup.driver("--json"))
    assert timeline.finish() == 0, timeline.text()[-3000:]
    ids = assert_whole(setup)
    assert ids[0] == ids[1] and ids[0] not in reference["ids"]
    assert leftovers(setup) == []
    assert content_digest(setup) == reference["digest"], killed_at


def test_kills_after_each_step_of_the_publish_step_leave_a_whole_release(reference):
    """SIGKILL right after each step of the publish step (every rename and swap included), each run starting from
    what the previous kill left: every kill leaves a whole release (the previous one until the BI swap, the new
    one from it on), the next run gets past it, and a last run completes without leftovers."""
    setup = reference["setup"]
    before = assert_whole(setup)
    for point in publish.FAULT_POINTS:
        result = setup.release_only(point)
        assert result.returncode == -signal.SIGKILL, f"{point}: exit {result.returncode}\n{result.stderr[-2000:]}"
        now = assert_whole(setup)
        if point == "activation_swapped":  # killed between the two swaps: activation is new, BI not yet
            assert now[0] == before[0] and now[1] != before[1]
        elif publish.FAULT_POINTS.index(point) < publish.FAULT_POINTS.index("activation_swapped"):
            assert now == before, point
        else:
            assert now[0] == now[1] != before[0], point
        before = now
    result = setup.release_only()
    assert result.returncode == 0, result.stderr[-3000:]
    assert assert_whole(setup)[0] != before[0]
    assert leftovers(setup) == []
    for root in (setup.releases, setup.activation):
        assert len(publish.releases_in(root)) == 3  # --keep-releases' default


def test_a_failure_before_the_swap_exits_5_and_publishes_nothing(reference):
    setup = reference["setup"]
    before = assert_whole(setup)
    for point in ("report_written", "activation_written", "links_made"):
        result = setup.release_only(f"{point}:fail")
        assert result.returncode == EXIT_PUBLISH_FAILED, result.stderr[-2000:]
        assert f"injected fault at {point}" in result.stderr and "Nothing was published" in result.stderr
        assert assert_whole(setup) == before
        assert leftovers(setup) == []


def test_unwritable_output_paths_stop_the_run_up_front_with_exit_2(reference, tmp_path):
    setup = reference["setup"]
    before = assert_whole(setup)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("somebody's files")
    cases = {
        "--report": ["--report", str(blocker / "report.html")],
        "--export-dir": ["--export-dir", str(busy)],
        "--activation-dir": ["--activation-dir", str(blocker / "activation")],
    }
    for option, extra in cases.items():
        args = setup.args()
        if option == "--activation-dir":
            args[args.index("--activation-dir") : args.index("--activation-dir") + 2] = []
        result = run_driver(*args, *extra, work=setup.work)
        assert result.returncode == EXIT_BAD_INPUT, (option, result.stderr[-2000:])
        assert option in result.stderr and "Traceback" not in result.stderr
        assert "dbt build" not in result.stderr  # checked before anything was built
    assert assert_whole(setup) == before


# --- what BI reads --------------------------------------------------------------------------------------


def test_the_bi_release_holds_only_the_marts_and_no_email(reference):
    setup = reference["setup"]
    release = setup.releases / publish.CURRENT
    with duckdb.connect(str(release / publish.DATABASE), read_only=True) as con:
        schemas = {r[0] for r in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
        assert schemas == {"marts"}
        defined = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
        assert defined - {"main", "information_schema", "pg_catalog"} == {"marts"}
        assert not con.execute("select * from information_schema.tables where table_schema = 'main'").fetchall()
        text_columns = con.execute(
            "select table_name, column_name from information_schema.columns where data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in text_columns:
            found = con.execute(
                f'select count(*) from marts."{table}" where regexp_matches("{column}", ?)', [EMAIL.pattern]
            ).fetchone()[0]
            assert found == 0, f"{table}.{column}"
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert {"customer_lifecycle", "lifecycle_summary", "rfm_summary", "fct_orders", "customer_cohorts"} <= tables
    assert not {"campaign_audiences", "abandoned_cart_reminders"} & tables
    for path in release.iterdir():
        if path.suffix == ".parquet":
            values = [str(v) for column in pq.read_table(path).columns for v in column.to_pylist()]
            assert not [v for v in values if EMAIL.search(v)], path.name
        elif path.suffix in (".html", ".json"):
            assert not EMAIL.findall(path.read_text()), path.name
    # The activation release does carry the emails (so the scan above would have found them).
    audiences = pq.read_table(setup.activation / publish.CURRENT / "campaign_audiences.parquet")
    assert all(EMAIL.fullmatch(email) for email in audiences.column("email").to_pylist())
    assert audiences.num_rows > 0


def test_customer_key_is_keyed_with_the_salt(reference):
    setup = reference["setup"]
    with duckdb.connect(str(setup.database), read_only=True) as con:
        emails = [r[0] for r in con.execute("select email from intermediate.int_persons__identified").fetchall()]
    salted = {int(hashlib.md5((SALT + e).encode()).hexdigest()[:15], 16) for e in emails}  # noqa: S324
    plain = {int(hashlib.md5(e.encode()).hexdigest()[:15], 16) for e in emails}  # noqa: S324
    released = pq.read_table(setup.releases / publish.CURRENT / "customer_lifecycle.parquet")
    keys = set(released.column("customer_key").to_pylist())
    assert keys == salted and len(keys) == len(emails) == 120
    assert not keys & plain


def test_every_published_file_and_folder_is_owner_only(reference):
    setup = reference["setup"]
    for root in (setup.releases, setup.activation):
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        for path in root.rglob("*"):
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"
    assert stat.S_IMODE(setup.database.stat().st_mode) == 0o600
