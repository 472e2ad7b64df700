"""scripts/run_pipeline.py end to end: options, exit codes, failed dbt tests, the release, export link, report.

The driver runs as a subprocess (sys.executable) against tmp_path databases. One successful build is
shared by the module (`built`); tests that change the warehouse work on a copy of it. The kill loop and what BI
may read are in test_release.py.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml
from dbt_harness import WITHOUT_UNIT_TESTS, run_dbt
from driver_data import AS_OF, write_raw
from test_semantic_layer import Mf

from lifecycle_pipeline import publish

PROJECT_DIR = Path(__file__).resolve().parents[2]
DRIVER = PROJECT_DIR / "scripts" / "run_pipeline.py"
BI_MARTS = ("customer_lifecycle", "lifecycle_summary", "rfm_summary", "fct_orders")

# Hand-computed from tests/python/driver_data.py as of 2026-10-31 (see the comments there):
# persons 1-6 buy every 30 days (repeat), 7-12 bought once long ago and 13-18 stopped in spring (lapsed:
# far past twice their expected interval), 19-24 never bought anything valid up to the as-of date.
EXPECTED_STAGES = {"prospect": 6, "new": 0, "repeat": 6, "at_risk": 0, "lapsed": 12}
# 39 regular orders x 40.00 + 6 x 25.50 + 24 x 60.00; the returned order and the one after the as-of
# date do not count, the bad row is quarantined.
EXPECTED_NET_REVENUE = Decimal("3153.00")
OPTIONS = (
    "--raw-dir", "--as-of", "--database", "--target", "--full-refresh", "--select", "--generate", "--customers",
    "--export-dir", "--report", "--json", "--quiet", "--max-quarantine-share", "--debug",
    "--as-of-range", "--step", "--freshness", "--skip-tests", "--release-dir", "--activation-dir",
    "--keep-releases", "--umask",
)  # fmt: skip


def run_driver(*args: str, work: Path, unit_tests: bool = False) -> subprocess.CompletedProcess:
    """The driver in a subprocess, as a scheduler runs it. Its dbt build leaves out dbt's unit tests unless asked
    (`unit_tests`): they read no data (test_dbt_unit_tests.py runs them all; the `built` run here shows them in
    the checks)."""
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(work / "dbt-target"),
        "DBT_LOG_PATH": str(work / "dbt-logs"),
        # releases beside the test's files, never in the project's output/ (options win)
        "LIFECYCLE_RELEASE_DIR": str(work / "releases"),
        "LIFECYCLE_ACTIVATION_DIR": str(work / "activation"),
        **WITHOUT_UNIT_TESTS,
    }
    if unit_tests:
        env.pop("DBT_EXCLUDE_RESOURCE_TYPES")
    for name in ("LIFECYCLE_DUCKDB_PATH", "LIFECYCLE_RAW_DIR", "LIFECYCLE_KEY_SALT", "LIFECYCLE_FAULT_AT"):
        env.pop(name, None)
    env.pop("LIFECYCLE_THREADS", None)  # the driver chooses (docs/driver.md "dbt threads")
    return subprocess.run(
        [sys.executable, str(DRIVER), *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900
    )


def marts_digest(database: Path, marts: tuple[str, ...]) -> dict[str, str]:
    """Hash of every mart's rows in a fixed order: equal digests = identical marts."""
    digests = {}
    with duckdb.connect(str(database), read_only=True) as con:
        for mart in marts:
            rows = con.execute(f"select * from marts.{mart} order by all").fetchall()
            digests[mart] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One full successful run: raw files, warehouse, release (with --export-dir and --report links), JSON."""
    work = tmp_path_factory.mktemp("driver")
    raw = write_raw(work / "raw")
    database = work / "warehouse" / "lifecycle.duckdb"
    result = run_driver(
        "--raw-dir", str(raw), "--database", str(database), "--as-of", AS_OF.isoformat(),
        "--export-dir", str(work / "export"), "--report", str(work / "report.html"), "--json",
        work=work, unit_tests=True,
    )  # fmt: skip
    assert result.returncode == 0, f"driver failed:\n{result.stderr[-4000:]}"
    return {
        "work": work,
        "raw": raw,
        "database": database,
        "releases": work / "releases",
        "release": work / "releases" / "current",
        "export": work / "export",
        "report": work / "report.html",
        "summary": json.loads(result.stdout),
        "stderr": result.stderr,
    }


def copy_database(built, name: str) -> Path:
    target = built["work"] / name / built["database"].name
    target.parent.mkdir()
    shutil.copyfile(built["database"], target)
    return target


def current_release(built) -> tuple[str, dict[str, str]]:
    """The current release's name and the digest of its database's marts."""
    release = built["release"]
    return os.readlink(release), marts_digest(release / "lifecycle.duckdb", BI_MARTS)


# --- options and exit codes ----------------------------------------------------------------------------


def test_help_lists_every_option_and_the_exit_codes(tmp_path):
    result = run_driver("--help", work=tmp_path)
    assert result.returncode == 0
    for option in OPTIONS:
        assert option in result.stdout, option
    for line in ("0  success", "2  bad input", "3  dbt failed", "4  a dbt data test failed", "5  the release"):
        assert line in result.stdout


def test_missing_raw_file_is_bad_input(tmp_path):
    raw = write_raw(tmp_path / "raw")
    (raw / "sessions.csv").unlink()
    result = run_driver("--raw-dir", str(raw), "--database", str(tmp_path / "db.duckdb"), work=tmp_path)
    assert result.returncode == 2
    assert "sessions.csv" in result.stderr and "missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "db.duckdb").exists()


def test_missing_required_column_is_bad_input_naming_file_and_column(tmp_path):
    raw = write_raw(tmp_path / "raw")
    path = raw / "orders.csv"
    with path.open(newline="") as handle:
        rows = [row[:5] for row in csv.reader(handle)]  # drop `amount`
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = run_driver("--raw-dir", str(raw), "--database", str(tmp_path / "db.duckdb"), "--json", work=tmp_path)
    assert result.returncode == 2
    assert "orders.csv" in result.stderr and "'amount'" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed" and summary["exit_code"] == 2


@pytest.mark.parametrize("bad_date", ["2026-02-30", "31.10.2026", "yesterday"])
def test_as_of_must_be_a_real_date(tmp_path, bad_date):
    raw = write_raw(tmp_path / "raw")
    result = run_driver("--raw-dir", str(raw), "--as-of", bad_date, work=tmp_path)
    assert result.returncode == 2
    assert bad_date in result.stderr and "YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr


def test_dbt_failure_exits_3_and_publishes_nothing(built):
    database = copy_database(built, "dbt_failure")
    before = current_release(built)
    result = run_driver(
        "--raw-dir", str(built["raw"]), "--database", str(database), "--target", "no_such_target",
        work=built["work"],
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-2000:]
    assert "dbt build failed" in result.stderr and "no_such_target" in result.stderr
    assert "Traceback" not in result.stderr
    assert current_release(built) == before
    assert not [p for p in built["releases"].iterdir() if p.name.startswith(".tmp-")]


def test_generate_makes_the_raw_files_before_the_input_checks(tmp_path):
    # A bad target stops the run right after the generator and the input checks, which keeps this test fast.
    raw = tmp_path / "generated"
    result = run_driver(
        "--generate", "--customers", "30", "--raw-dir", str(raw), "--database", str(tmp_path / "db.duckdb"),
        "--target", "no_such_target", "--json",
        work=tmp_path,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-2000:]
    for dataset in ("orders", "sessions", "newsletter_signups", "email_events"):
        assert (raw / f"{dataset}.csv").is_file(), dataset
    assert set(json.loads(result.stdout)["phases"]) == {"generate", "inputs", "dbt"}
    assert "--customers only makes sense with --generate" in run_driver("--customers", "5", work=tmp_path).stderr


def test_a_failed_data_test_exits_4_names_it_with_its_numbers_and_publishes_nothing(built):
    """Staging only (--select): the failing test is the quarantine share of the staged orders."""
    database = copy_database(built, "validation_failure")
    before = current_release(built)
    result = run_driver(
        "--raw-dir", str(built["raw"]), "--database", str(database), "--as-of", "2026-11-01",
        "--max-quarantine-share", "0", "--json", "--select", "path:models/staging",
        work=built["work"],
    )  # fmt: skip
    assert result.returncode == 4, result.stderr[-2000:]
    # The one bad orders row: 1 of 72 rows (71 valid + 1 bad), over a limit of 0.
    assert "quarantine_share_within_limit_stg_shop__orders" in result.stderr
    assert "1 failing row (staged_rows=71, quarantined_rows=1, raw_rows=72, quarantine_share=0.0138889" in result.stderr
    summary = json.loads(result.stdout)
    assert len(summary["failed_tests"]) == 1 and "max_share=0" in summary["failed_tests"][0]
    assert summary["dbt_threads"] == [2]  # the warehouse existed: an incremental run, the profile's threads
    # The run built a different as-of date in its warehouse, but nothing of it was published.
    assert current_release(built) == before
    assert "release" not in summary["phases"]


def test_the_new_data_tests_fail_on_broken_marts(built, tmp_path):
    """Net revenue that does not reconcile and an empty mart each fail their dbt test (the driver would exit 4)."""
    database = copy_database(built, "broken_marts")
    with duckdb.connect(str(database)) as con:
        con.execute("update marts.lifecycle_summary set net_revenue = net_revenue + 1 where lifecycle_stage = 'repeat'")
        con.execute("delete from marts.rfm_summary")
    result = run_dbt(
        ["test", "--select", "assert_net_revenue_reconciles", "assert_marts_not_empty"],
        built["raw"], database, dbt_vars={"as_of_date": AS_OF.isoformat()}, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAIL 1 assert_net_revenue_reconciles" in result.stdout
    assert "FAIL 1 assert_marts_not_empty" in result.stdout


# --- a successful run ----------------------------------------------------------------------------------


def test_summary_reports_the_run(built):
    summary = built["summary"]
    assert summary["status"] == "succeeded" and summary["exit_code"] == 0
    assert summary["as_of_date"] == "2026-10-31"
    assert summary["stages"] == EXPECTED_STAGES
    assert summary["persons"] == 24
    assert summary["sources"]["orders"] == {
        "rows_read": 72,
        "quarantined": 1,
        "quarantine_share": round(1 / 72, 6),
        "top_reasons": [{"reason": "invalid_amount", "rows": 1}],
    }
    assert summary["sources"]["email_events"]["rows_read"] == 24 * 4 + 8
    # The two open carts of subscribed prospects (ended 35.7 hours before the end of the as-of date).
    assert summary["reminders_due"] == 2
    assert summary["audiences"]["abandoned_cart"] == 2
    # Subscribed prospects 21-24; 19 and 20 ignore their mail (cold): archived, so not in first_purchase.
    assert summary["audiences"]["first_purchase"] == 4
    assert set(summary["phases"]) == {"inputs", "dbt", "release"}
    # a build from scratch, but of a small input: the profile's two threads
    assert summary["dbt_threads"] == [2]
    assert [check["check"] for check in summary["checks"]] == ["dbt data tests", "dbt unit tests"]
    assert all(check["ok"] for check in summary["checks"])
    assert summary["tests"]["test"]["pass"] > 150 and set(summary["tests"]["test"]) == {"pass"}
    assert summary["outputs"]["warehouse"] == str(built["database"])
    assert summary["outputs"]["release"] == str(built["release"])
    assert summary["release"]["id"] == os.readlink(built["release"])
    assert summary["release"]["activation_tables"] == {"abandoned_cart_reminders": 2, "campaign_audiences": 16}


def test_release_holds_the_hand_computed_revenue(built):
    with duckdb.connect(str(built["release"] / "lifecycle.duckdb"), read_only=True) as con:
        revenue = con.execute("select sum(net_revenue) from marts.lifecycle_summary").fetchone()[0]
    assert Decimal(str(revenue)).quantize(Decimal("0.01")) == EXPECTED_NET_REVENUE


def test_the_warehouse_keeps_every_schema(built):
    with duckdb.connect(str(built["database"]), read_only=True) as con:
        schemas = {r[0] for r in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
    assert schemas == {"raw", "staging", "quarantine", "intermediate", "marts"}


def test_export_link_shows_the_current_release_with_matching_row_counts(built):
    export = built["export"]
    assert export.is_symlink() and export.resolve() == built["release"].resolve()
    manifest = json.loads((export / "_manifest.json").read_text())
    with duckdb.connect(str(export / "lifecycle.duckdb"), read_only=True) as con:
        marts = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        counts = {mart: con.execute(f"select count(*) from marts.{mart}").fetchone()[0] for mart in marts}
    assert set(BI_MARTS) <= set(marts)
    assert manifest["as_of_date"] == "2026-10-31" and manifest["tables"] == counts
    for mart, rows in counts.items():
        assert pq.read_table(export / f"{mart}.parquet").num_rows == rows, mart
    assert counts["customer_lifecycle"] == 24
    assert not [p for p in built["releases"].iterdir() if p.name.startswith(".tmp")]


# --- what BI tools read beside the rows: comments, Parquet metadata, the semantic layer ---------------------


def _yaml_description(model: str, column: str) -> str:
    for entry in yaml.safe_load((PROJECT_DIR / "models" / "marts" / "_marts__models.yml").read_text())["models"]:
        if entry["name"] == model:
            return next(c["description"] for c in entry["columns"] if c["name"] == column)
    raise KeyError(model)


def _comments(database: Path) -> dict[tuple[str, str | None], str | None]:
    """(table, None) -> the table's comment, (table, column) -> the column's, for schema marts."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_name, comment from duckdb_tables() where schema_name = 'marts' union all "
            "select view_name, comment from duckdb_views() where schema_name = 'marts'"
        ).fetchall()
        columns = con.execute(
            "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'"
        ).fetchall()
    return {(table, None): comment for table, comment in tables} | {(t, c): comment for t, c, comment in columns}


def test_marts_carry_their_descriptions_as_comments_in_the_warehouse_and_the_release(built):
    warehouse = _comments(built["database"])
    purchase_amount = _yaml_description("fct_orders", "purchase_amount")
    assert warehouse[("fct_orders", "purchase_amount")] == purchase_amount
    assert warehouse[("customer_lifecycle", None)].startswith("One row per **known person**")
    # persist_docs: every mart (tables and views) and every one of its columns has a comment
    assert all(comment for comment in warehouse.values()), [key for key, comment in warehouse.items() if not comment]
    # The release copies the tables with CREATE TABLE AS and puts the same descriptions back (links and line
    # breaks taken out: publish.plain_description).
    release = _comments(built["release"] / "lifecycle.duckdb")
    assert {table for table, _ in release} >= set(BI_MARTS)
    assert release == {key: publish.plain_description(warehouse[key]) for key in release}
    assert release[("fct_orders", "purchase_amount")] == purchase_amount


def test_release_parquet_carries_column_descriptions_and_the_manifest_describes_each_file(built):
    release = built["release"]
    schema = pq.read_schema(release / "fct_orders.parquet")
    assert schema.field("purchase_amount").metadata[b"description"].decode() == _yaml_description(
        "fct_orders", "purchase_amount"
    )
    manifest = json.loads((release / "_manifest.json").read_text())
    version = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["version"]
    comments = _comments(release / "lifecycle.duckdb")
    assert {entry["file"] for entry in manifest["files"]} == {path.name for path in release.glob("*.parquet")}
    for entry in manifest["files"]:
        path = release / entry["file"]
        assert entry["rows"] == pq.read_metadata(path).num_rows == manifest["tables"][entry["table"]], path.name
        assert [(c["name"], c["type"]) for c in entry["schema"]] == [
            (f.name, str(f.type)) for f in pq.read_schema(path)
        ]
        assert entry["as_of_date"] == "2026-10-31" and entry["project_version"] == version
        assert entry["description"] == comments[(entry["table"], None)] and "](" not in entry["description"]
    lifecycle = next(entry for entry in manifest["files"] if entry["table"] == "customer_lifecycle")
    assert lifecycle["rows"] == 24
    assert {
        "name": "customer_key",
        "type": "int64",
        "description": comments[("customer_lifecycle", "customer_key")],
    } in (lifecycle["schema"])


@pytest.fixture(scope="module")
def mf(built, tmp_path_factory):
    """MetricFlow's `mf` against a copy of the module's warehouse (test_semantic_layer.Mf)."""
    return Mf(tmp_path_factory.mktemp("mf"), built["database"], built["work"] / "dbt-target")


def _number(text: str) -> float | None:
    return float(text) if text else None


def test_mf_validates_the_semantic_layer_against_the_warehouse(mf):
    result = mf.run("validate-configs")
    assert "ERRORS: 0" in result.stdout and "against data warehouse" in result.stdout, result.stdout[-3000:]


def test_mf_answers_the_stage_mix_as_sql_on_the_marts_does(mf):
    answer = {row["customer__lifecycle_stage"]: row for row in mf.query("--saved-query", "stage_mix")}
    with duckdb.connect(str(mf.database), read_only=True) as con:
        persons = dict(
            con.execute("select lifecycle_stage, count(*) from marts.customer_lifecycle group by 1").fetchall()
        )
        revenue = {
            stage: (float(amount), float(amount) / purchases if purchases else None)
            for stage, amount, purchases in con.execute(
                "select c.lifecycle_stage, sum(o.purchase_amount), count(*) filter (where o.is_purchase) "
                "from marts.fct_orders as o inner join marts.customer_lifecycle as c "
                "on o.customer_key = c.customer_key group by 1"
            ).fetchall()
        }
    assert {stage: int(row["persons"]) for stage, row in answer.items()} == persons
    assert persons == {stage: n for stage, n in EXPECTED_STAGES.items() if n}  # hand-computed
    for stage, row in answer.items():
        net_revenue, average_order_value = revenue.get(stage, (0.0, None))
        assert _number(row["net_revenue"]) == pytest.approx(net_revenue), stage
        assert _number(row["average_order_value"]) == pytest.approx(average_order_value), stage
    assert sum(float(row["net_revenue"]) for row in answer.values()) == pytest.approx(float(EXPECTED_NET_REVENUE))


def test_mf_answers_buyers_repeat_rate_and_reminders_per_cohort_as_sql_does(mf):
    rows = mf.query(
        "--metrics", "buyers,repeat_purchase_rate,reminders_due", "--group-by", "customer__cohort_month__month"
    )
    answer = {row["customer__cohort_month__month"][:10] or None: row for row in rows}
    with duckdb.connect(str(mf.database), read_only=True) as con:
        cohorts = con.execute(
            "select strftime(date_trunc('month', first_order_date), '%Y-%m-%d'), "
            "count(*) filter (where purchase_days >= 1), count(*) filter (where purchase_days >= 2) "
            "from marts.customer_lifecycle group by 1"
        ).fetchall()
        reminders = dict(
            con.execute(
                "select strftime(date_trunc('month', c.first_order_date), '%Y-%m-%d'), count(*) "
                "from marts.abandoned_cart_reminders as r left join marts.customer_lifecycle as c "
                "on r.customer_key = c.customer_key group by 1"
            ).fetchall()
        )
    assert set(answer) == {cohort for cohort, _, _ in cohorts}
    for cohort, buyers, repeat_buyers in cohorts:
        row = answer[cohort]
        assert int(row["buyers"]) == buyers, cohort
        assert _number(row["repeat_purchase_rate"]) == (pytest.approx(repeat_buyers / buyers) if buyers else None)
        assert int(_number(row["reminders_due"]) or 0) == reminders.get(cohort, 0), cohort
    # hand-computed (driver_data.py): persons 13-18 and 8 start in February, 6 of those 7 bought again
    assert float(answer["2026-02-01"]["repeat_purchase_rate"]) == pytest.approx(6 / 7)
    assert int(answer[None]["reminders_due"]) == 2  # the two open carts are prospects' (no cohort)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_report_is_self_contained_html_with_the_stage_counts(built):
    text = built["report"].read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parser = _Collector()
    parser.feed(text)
    assert "svg" in parser.tags and parser.tags.count("svg") >= 5  # the charts, inline
    assert 'src="http' not in text and 'href="http' not in text and "<script" not in text  # opens offline
    stage_rows = {row[0]: row[1] for row in parser.rows if row and row[0] in EXPECTED_STAGES}
    assert stage_rows == {stage: str(count) for stage, count in EXPECTED_STAGES.items()}
    assert "as of 2026-10-31" in text


def test_a_reader_keeps_the_release_it_opened_while_the_next_one_is_published(built):
    """Last in the module: it makes a new release current."""
    release = built["release"]
    reader = duckdb.connect(str(release / "lifecycle.duckdb"), read_only=True)
    before = os.readlink(release)
    try:
        # the release phase alone on the same warehouse (as the kill loop in test_release.py runs it)
        result = subprocess.run(
            [sys.executable, "-c", "import sys; from lifecycle_pipeline.cli import main; "
             "sys.exit(main(sys.argv[1:], build=False))", "--database", str(built["database"]),
             "--release-dir", str(built["releases"]), "--activation-dir", str(built["work"] / "activation"), "--quiet"],
            cwd=PROJECT_DIR, env={**os.environ, "DBT_TARGET_PATH": str(built["work"] / "dbt-target")},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert os.readlink(release) != before
        # The reader keeps reading the release it opened; the new one holds the same marts.
        assert reader.execute("select count(*) from marts.customer_lifecycle").fetchone()[0] == 24
    finally:
        reader.close()
    assert (built["releases"] / before).is_dir()  # kept: one of the last three
