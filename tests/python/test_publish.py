"""The release step on a hand-made warehouse (no dbt): layout, manifest, the swap, clean-up, retention, failures
at every point of the publish step, and the up-front checks of the output paths."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lifecycle_pipeline import publish  # noqa: E402
from lifecycle_pipeline.errors import InputError, PublishFailure  # noqa: E402

BI_ROWS = {"customer_lifecycle": 3, "lifecycle_summary": 2}
ACTIVATION_ROWS = {"campaign_audiences": 2}


@contextlib.contextmanager
def umask(value: int):
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """A warehouse with a raw and a staging schema (emails everywhere) and three marts, one of them personal,
    plus the dbt manifest that says which."""
    database = tmp_path / "warehouse" / "wh.duckdb"
    database.parent.mkdir()
    with duckdb.connect(str(database)) as con:
        for schema in ("raw", "staging", "marts"):
            con.execute(f"create schema {schema}")
        con.execute("create table raw.orders as select 'a@shop.test' as email")
        con.execute("create table staging.stg_shop__orders as select 'a@shop.test' as email")
        con.execute(
            "create table marts.customer_lifecycle as select * from (values (11, date '2026-10-31', 'new'), "
            "(12, date '2026-10-31', 'repeat'), (13, date '2026-10-31', 'lapsed')) as t(customer_key, as_of_date, "
            "lifecycle_stage)"
        )
        con.execute(
            "create table marts.lifecycle_summary as select * from (values ('new', 1), ('repeat', 2)) as t(s, n)"
        )
        con.execute(
            "create table marts.campaign_audiences as select * from (values (11, 'a@shop.test'), (12, 'b@shop.test'))"
            " as t(customer_key, email)"
        )
        con.execute("create table marts.stale_model as select 1 as x")  # no longer in the project: not published
    nodes = {
        f"model.p.{name}": {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": "marts",
            "config": {"enabled": True},
            "columns": {"email": {"tags": ["pii"]}} if name == "campaign_audiences" else {"customer_key": {"tags": []}},
        }
        for name in ("customer_lifecycle", "lifecycle_summary", "campaign_audiences")
    }
    nodes["model.p.stg_shop__orders"] = {"resource_type": "model", "name": "stg_shop__orders", "schema": "staging",
                                         "config": {"enabled": True}, "columns": {}}  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": nodes}))
    return database


def plan_for(tmp_path: Path, database: Path, keep: int = 2, links: dict | None = None) -> publish.Plan:
    return publish.Plan(
        releases=tmp_path / "releases",
        activation=tmp_path / "activation",
        keep=keep,
        warehouse=database,
        catalog="wh",
        marts=publish.marts_from_manifest(tmp_path / "manifest.json"),
        run_started_at="2026-11-01T02:00:00+00:00",
        links=links or {},
    )


def run_publish(database: Path, plan: publish.Plan, html: str = "<html>report</html>") -> publish.Published:
    for root in (plan.releases, plan.activation):
        root.mkdir(exist_ok=True)
    with duckdb.connect(str(database), read_only=True) as con:
        return publish.publish(con, plan, lambda: html)


def test_marts_with_a_pii_column_go_to_activation_only(tmp_path, warehouse):
    marts = publish.marts_from_manifest(tmp_path / "manifest.json")
    assert marts == [
        publish.Mart("campaign_audiences", personal=True),
        publish.Mart("customer_lifecycle", personal=False),
        publish.Mart("lifecycle_summary", personal=False),
    ]


def test_a_release_holds_the_bi_marts_as_duckdb_and_parquet_with_manifest_and_report(tmp_path, warehouse):
    plan = plan_for(tmp_path, warehouse)
    with umask(0o077):
        published = run_publish(warehouse, plan)

    release = plan.releases / publish.CURRENT
    assert os.readlink(release) == published.release_id  # relative: the folder can move
    assert sorted(p.name for p in release.iterdir()) == [
        "_manifest.json", "customer_lifecycle.parquet", "lifecycle.duckdb", "lifecycle_summary.parquet", "report.html",
    ]  # fmt: skip
    manifest = json.loads((release / "_manifest.json").read_text())
    files = manifest.pop("files")  # what each file holds: test_release_metadata.py
    assert [entry["file"] for entry in files] == ["customer_lifecycle.parquet", "lifecycle_summary.parquet"]
    assert manifest == {
        "release": published.release_id,
        "run_started_at": "2026-11-01T02:00:00+00:00",
        "as_of_date": "2026-10-31",
        "tables": BI_ROWS,
        "report": "report.html",
        "database": "lifecycle.duckdb",
    }
    assert published.release_id.endswith("Z-2026-10-31")
    with duckdb.connect(str(release / "lifecycle.duckdb"), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables order by 2").fetchall()
        assert tables == [("marts", "customer_lifecycle"), ("marts", "lifecycle_summary")]
        assert con.execute("select sum(customer_key) from marts.customer_lifecycle").fetchone()[0] == 36
    for mart, rows in BI_ROWS.items():
        assert pq.read_table(release / f"{mart}.parquet").num_rows == rows
    assert (release / "report.html").read_text() == "<html>report</html>"

    activation = plan.activation / publish.CURRENT
    assert os.readlink(activation) == published.release_id
    assert sorted(p.name for p in activation.iterdir()) == ["_manifest.json", "campaign_audiences.parquet"]
    assert json.loads((activation / "_manifest.json").read_text())["tables"] == ACTIVATION_ROWS
    assert pq.read_table(activation / "campaign_audiences.parquet").column("email").to_pylist() == [
        "a@shop.test",
        "b@shop.test",
    ]
    # owner only: every folder 0700, every file 0600
    for root in (plan.releases / published.release_id, plan.activation / published.release_id):
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        for path in root.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_wider_umask_is_respected(tmp_path, warehouse):
    plan = plan_for(tmp_path, warehouse)
    with umask(0o027):
        published = run_publish(warehouse, plan)
    folder = plan.releases / published.release_id
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o640}


def test_the_next_release_replaces_current_and_only_the_last_n_are_kept(tmp_path, warehouse):
    plan = plan_for(tmp_path, warehouse, keep=2)
    ids = [run_publish(warehouse, plan, html=f"<html>run {n}</html>").release_id for n in range(4)]
    assert ids == sorted(ids) and len(set(ids)) == 4
    for root in (plan.releases, plan.activation):
        assert publish.current_release(root) == ids[-1]
        assert publish.releases_in(root) == ids[-2:]
    assert (plan.releases / "current" / "report.html").read_text() == "<html>run 3</html>"


def test_what_a_killed_run_left_is_removed_by_the_next(tmp_path, warehouse):
    plan = plan_for(tmp_path, warehouse)
    first = run_publish(warehouse, plan).release_id
    (plan.releases / ".tmp-20991231T000000.000000Z-2026-10-31").mkdir()  # killed while writing
    (plan.releases / "20991231T000000.000000Z-2026-10-31").mkdir()  # killed between its rename and the swap
    (plan.activation / ".current.tmp-123").symlink_to(first)  # killed while swapping
    older = plan.releases / "20000101T000000.000000Z-2026-10-31"  # a previous release: kept
    older.mkdir()

    assert publish.clean_leftovers(plan.releases) == [
        ".tmp-20991231T000000.000000Z-2026-10-31",
        "20991231T000000.000000Z-2026-10-31",
    ]
    assert publish.clean_leftovers(plan.activation) == [".current.tmp-123"]
    assert publish.releases_in(plan.releases) == [older.name, first]
    assert publish.current_release(plan.releases) == first


@pytest.mark.parametrize("point", publish.FAULT_POINTS[: publish.FAULT_POINTS.index("activation_swapped") + 1])
def test_a_failure_before_the_swap_publishes_nothing_and_leaves_no_temporary_folder(
    tmp_path, warehouse, monkeypatch, point
):
    plan = plan_for(tmp_path, warehouse)
    first = run_publish(warehouse, plan).release_id
    before = {root: sorted(p.name for p in root.iterdir()) for root in (plan.releases, plan.activation)}

    monkeypatch.setenv("LIFECYCLE_FAULT_AT", f"{point}:fail")
    with pytest.raises(PublishFailure, match=f"injected fault at {point}.*Nothing was published"):
        run_publish(warehouse, plan)

    for root in (plan.releases, plan.activation):
        assert publish.current_release(root) == first
        assert sorted(p.name for p in root.iterdir()) == before[root]


def test_a_failure_after_the_swap_leaves_the_new_release_current(tmp_path, warehouse, monkeypatch):
    plan = plan_for(tmp_path, warehouse)
    run_publish(warehouse, plan)
    monkeypatch.setenv("LIFECYCLE_FAULT_AT", "release_swapped:fail")
    committed = []
    with duckdb.connect(str(warehouse), read_only=True) as con, pytest.raises(OSError):
        publish.publish(con, plan, lambda: "<html>", on_commit=lambda: committed.append(True))
    assert committed == [True]
    newest = publish.releases_in(plan.releases)[-1]
    assert publish.current_release(plan.releases) == publish.current_release(plan.activation) == newest


def test_links_follow_the_current_release_and_replace_an_old_export_folder(tmp_path, warehouse):
    old_export = tmp_path / "bi" / "marts"
    old_export.mkdir(parents=True)
    (old_export / "customer_lifecycle.parquet").write_bytes(b"old")
    (old_export / "_manifest.json").write_text("{}")
    report = tmp_path / "bi" / "report.html"
    report.write_text("old report")
    new_folder = tmp_path / "bi" / "new" / "report.html"  # made when the link is
    current = tmp_path / "releases" / publish.CURRENT
    links = {
        "--export-dir": (old_export, current),
        "--report": (report, current / publish.REPORT),
        "other": (new_folder, current / publish.REPORT),
    }
    publish.check_destinations(tmp_path / "releases", tmp_path / "activation", warehouse, links)

    run_publish(warehouse, plan_for(tmp_path, warehouse, links=links), html="<html>new</html>")

    assert old_export.is_symlink() and report.is_symlink()
    assert report.read_text() == new_folder.read_text() == "<html>new</html>"
    assert json.loads((old_export / "_manifest.json").read_text())["tables"] == BI_ROWS
    assert not [p for p in old_export.parent.iterdir() if ".tmp-" in p.name]


def test_output_paths_that_cannot_be_written_are_bad_input(tmp_path, warehouse):
    releases, activation = tmp_path / "releases", tmp_path / "activation"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="--activation-dir .* cannot be created"):
        publish.check_destinations(releases, blocker / "activation", warehouse, {})
    with pytest.raises(InputError, match="--release-dir .* cannot be created"):
        publish.check_destinations(blocker / "releases", activation, warehouse, {})
    with pytest.raises(InputError, match="--report .* is not writable"):
        publish.check_destinations(releases, activation, warehouse, {"--report": (blocker / "r.html", releases)})
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("somebody's files")
    with pytest.raises(InputError, match="--export-dir .* folder with other files"):
        publish.check_destinations(releases, activation, warehouse, {"--export-dir": (busy, releases)})
    with pytest.raises(InputError, match="must be separate folders"):
        publish.check_destinations(releases, releases / "activation", warehouse, {})
    with pytest.raises(InputError, match="holds the warehouse"):
        publish.check_destinations(warehouse.parent, activation, warehouse, {})
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(InputError, match="not writable"):
            publish.check_destinations(locked, activation, warehouse, {})


def test_defaults_put_bi_and_activation_in_separate_folders_under_output(monkeypatch):
    from lifecycle_pipeline import PROJECT_DIR, cli

    for name in ("LIFECYCLE_RELEASE_DIR", "LIFECYCLE_ACTIVATION_DIR", "LIFECYCLE_KEEP_RELEASES", "LIFECYCLE_UMASK"):
        monkeypatch.delenv(name, raising=False)
    with umask(0o022):
        run = cli.make_run(cli.build_parser().parse_args([]))
        assert os.umask(0o022) == 0o077  # what make_run set: owner only
    assert run.release_dir == PROJECT_DIR / "output" / "releases"
    assert run.activation_dir == PROJECT_DIR / "output" / "activation"
    assert run.keep_releases == 3
    assert cli.parse_umask("027") == 0o027
    for bad in ("abc", "0700", "1000"):
        with pytest.raises(InputError, match="--umask"):
            cli.parse_umask(bad)
