"""The release: what BI and activation read, written after every dbt test passed and made current in one step.

dbt builds the warehouse (`--database`) in place; nobody but the pipeline reads it. What others read is a
*release*, a folder written from it at the end of a successful run:

    RELEASES/current -> <id>           the release BI reads (a relative symlink)
    RELEASES/<id>/lifecycle.duckdb     the BI marts only: schema `marts`, no raw, staging, quarantine,
                                       intermediate, no column tagged `pii`; dbt's descriptions as comments
    RELEASES/<id>/<mart>.parquet       the same tables as Parquet, each column's description in its field
                                       metadata, the table's in the schema metadata
    RELEASES/<id>/_manifest.json       release id, run start, as-of date, rows per table, and per file its
                                       schema, rows, as-of date, project version and description
    RELEASES/<id>/report.html          the run's HTML report
    ACTIVATION/current -> <id>         the same for the marts with personal data (a column tagged `pii`):
    ACTIVATION/<id>/<mart>.parquet     campaign_audiences and abandoned_cart_reminders, with emails
    ACTIVATION/<id>/_manifest.json

A release is written under a temporary name (`.tmp-<id>`), renamed to `<id>` when complete, then made current by
renaming a new symlink over `current` (`os.replace`, atomic on POSIX). A reader that resolves `current` gets
the previous release or the new one, whole. Activation switches first, BI last: the BI switch is the run's
commit point; if it fails, activation is switched back. Nothing after it can fail the run. The next run removes
what a killed one left (`.tmp-*` folders, temporary links, renamed releases never made current). The last
`keep` releases stay, so a reader that resolved `current` a moment ago can still finish.

`LIFECYCLE_FAULT_AT=<point>[:fail]` stops the process (SIGKILL) or raises an OSError at a named point of the
publish step; the tests use it to prove the above at every point (FAULT_POINTS).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from . import PROJECT_DIR
from .errors import InputError, PublishFailure

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, runs must not overlap
    fcntl = None

CURRENT = "current"
PARQUET_BATCH_ROWS = 122_880  # rows per Arrow batch from DuckDB to the Parquet writer (DuckDB's row group size)
DATABASE = "lifecycle.duckdb"  # not marts.duckdb: DuckDB names the catalog after the file, and a catalog
# called `marts` would make `marts.customer_lifecycle` ambiguous
MANIFEST = "_manifest.json"
REPORT = "report.html"
TEMPORARY = ".tmp-"
RELEASE_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-")
FAULT_POINTS = (
    "leftovers_cleaned",
    "database_written",
    "parquet_written",
    "activation_written",
    "report_written",
    "manifest_written",
    "activation_renamed",
    "release_renamed",
    "links_made",
    "activation_swapped",
    "release_swapped",
    "pruned",
)


# --- the fault hook of the tests ----------------------------------------------------------------------


def fault(point: str) -> None:
    """Stop here if LIFECYCLE_FAULT_AT names this point: SIGKILL (as `kill -9` from outside), or with `:fail` an
    OSError (as a full disk would)."""
    wanted = os.environ.get("LIFECYCLE_FAULT_AT", "")
    name, _, how = wanted.partition(":")
    if name != point:
        return
    if how == "fail":
        raise OSError(f"injected fault at {point}")
    os.kill(os.getpid(), signal.SIGKILL)


# --- locks and up-front checks ------------------------------------------------------------------------


@contextlib.contextmanager
def run_lock(*lock_files: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock (flock) on each file for the whole run (one beside the warehouse, one in
    each release folder); fail at once if another run holds one."""
    with contextlib.ExitStack() as stack:
        for lock_path in lock_files:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context(open(lock_path, "a"))
            if fcntl is None:
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PublishFailure(
                    f"Another pipeline run holds the lock {lock_path}. Wait for it to finish; the current release "
                    "stays readable meanwhile."
                ) from None
            stack.callback(fcntl.flock, handle, fcntl.LOCK_UN)
        yield


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_destinations(releases: Path, activation: Path, database: Path, links: dict[str, tuple[Path, Path]]) -> None:
    """Before anything is built: the release and activation folders exist (made if missing) and are writable,
    neither lies inside the other or holds the warehouse, and every link path can be made. `links` maps an
    option name to (link path, what it points at). Raises InputError (exit 2)."""
    if _inside(activation, releases) or _inside(releases, activation):
        raise InputError(
            f"--activation-dir {activation} and --release-dir {releases} must be separate folders, neither inside "
            "the other: BI reads the release folder and must not reach the personal data in the activation one."
        )
    for option, folder in (("--release-dir", releases), ("--activation-dir", activation)):
        if _inside(database, folder):
            raise InputError(f"{option} {folder} holds the warehouse {database}: give releases a folder of their own.")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"{option} {folder} cannot be created: {error.strerror or error}.") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"{option} {folder} is not writable by this user; nothing was built.")
    for option, (link, _) in links.items():
        if _inside(link, releases) or _inside(link, activation) or link == database:
            raise InputError(f"{option} {link} lies inside a release folder or is the warehouse: choose another path.")
        _check_link_path(option, link)


def _check_link_path(option: str, link: Path) -> None:
    if link.is_symlink() or not link.exists():
        parent = link.parent
        while not parent.exists() and not parent.is_symlink():
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(f"{option} {link}: folder {parent} is not writable by this user; nothing was built.")
        return
    if link.is_dir() and not _is_old_export(link):
        raise InputError(
            f"{option} {link} is a folder with other files than an earlier export; it becomes a link to the current "
            "release: remove it or choose another path."
        )
    if not os.access(link.parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {link} cannot be replaced: folder {link.parent} is not writable by this user.")


def _is_old_export(folder: Path) -> bool:
    """A folder the driver's earlier versions exported to: only Parquet files, the manifest and temp folders."""
    return all(
        entry.suffix == ".parquet" or entry.name == MANIFEST or entry.name.startswith(TEMPORARY)
        for entry in folder.iterdir()
    )


# --- what goes where ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mart:
    name: str
    personal: bool  # has a column tagged pii: activation only
    # dbt's descriptions of the model and of its columns (column -> text), as plain text (plain_description):
    # the release's comments, the Parquet metadata and the manifest carry them
    description: str = field(default="", compare=False)
    columns: dict[str, str] = field(default_factory=dict, compare=False)


_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]*)>")


def plain_description(text: str | None) -> str:
    """A dbt description as BI tools show it: Markdown links replaced by their text (a link into the project's
    docs leads nowhere from a BI tool), and the lines of each paragraph joined (descriptions are hard-wrapped)."""
    text = _AUTOLINK.sub(r"\1", _MARKDOWN_LINK.sub(r"\1", text or ""))
    paragraphs = (" ".join(paragraph.split()) for paragraph in re.split(r"\n\s*\n", text))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def project_version(project_dir: Path = PROJECT_DIR) -> str | None:
    """`version` of dbt_project.yml (the release manifest names it for every file), or None without one."""
    try:
        project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    version = project.get("version") if isinstance(project, dict) else None
    return None if version is None else str(version)


def marts_from_manifest(manifest_path: Path, schema: str = "marts") -> list[Mart]:
    """Every enabled model of schema `marts` in dbt's manifest.json, personal when a column is tagged `pii`, with
    its descriptions."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PublishFailure(f"Cannot read dbt's manifest {manifest_path}: {error}") from None
    marts = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("schema") != schema:
            continue
        if not node.get("config", {}).get("enabled", True):
            continue
        columns = node.get("columns", {})
        personal = any("pii" in (column.get("tags") or []) for column in columns.values())
        descriptions = {
            column.get("name") or name: plain_description(column.get("description")) for name, column in columns.items()
        }
        marts.append(
            Mart(
                node.get("alias") or node["name"],
                personal,
                description=plain_description(node.get("description")),
                columns={name: text for name, text in descriptions.items() if text},
            )
        )
    return sorted(marts, key=lambda mart: mart.name)


# --- writing a release --------------------------------------------------------------------------------


def _quote(value: Path | str) -> str:
    """A SQL string literal of a path or a text."""
    return "'" + str(value).replace("'", "''") + "'"


def new_release_id(as_of: str | None, now: dt.datetime | None = None) -> str:
    """`<UTC time to the microsecond>Z-<as-of date>`: names sort by the time they were written."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S.%f}Z-{as_of or 'unknown'}"


def write_tables(warehouse: Path, folder: Path, marts: list[Mart], database: bool) -> dict[str, dict]:
    """The marts as folder/<mart>.parquet, and with `database` also as tables of schema marts in
    folder/lifecycle.duckdb, made with ATTACH (the warehouse, read-only) + CREATE TABLE AS, with dbt's
    descriptions as table and column comments (CREATE TABLE AS copies no comment); the Parquet files are then
    written from those tables, so both hold the same rows. Returns mart -> its manifest entry (file_entry).

    A DuckDB instance of its own: the report's queries run meanwhile on the caller's connection, and one instance
    cannot checkpoint a database while another of its connections has a transaction open."""
    target = folder / DATABASE if database else Path(":memory:")
    written: dict[str, dict] = {}
    with duckdb.connect(str(target), config={"preserve_insertion_order": False}) as con:
        con.execute(f"attach {_quote(warehouse)} as warehouse_db (read_only)")
        source = "warehouse_db"
        if database:
            source = con.execute("select current_database()").fetchone()[0]
            con.execute("begin transaction")  # one commit, not one per table and comment
            con.execute(f'create schema "{source}".marts')
            for mart in marts:
                table = f'"{source}".marts."{mart.name}"'
                con.execute(f'create table {table} as select * from warehouse_db.marts."{mart.name}"')
                _comment(con, table, mart)
            con.execute("commit")
            con.execute("checkpoint")
            fault("database_written")
        for mart in marts:
            path = folder / f"{mart.name}.parquet"
            schema, rows = write_parquet(con, f'select * from "{source}".marts."{mart.name}"', path, mart)
            written[mart.name] = file_entry(path.name, mart, schema, rows)
        con.execute("detach warehouse_db")
    return written


def _comment(con: duckdb.DuckDBPyConnection, table: str, mart: Mart) -> None:
    """dbt's descriptions as the comments of `table` and its columns (what persist_docs wrote in the warehouse)."""
    if mart.description:
        con.execute(f"comment on table {table} is {_quote(mart.description)}")
    columns = [row[0] for row in con.execute(f"select column_name from (describe {table})").fetchall()]
    for column in columns:
        if mart.columns.get(column):
            con.execute(f'comment on column {table}."{column}" is {_quote(mart.columns[column])}')


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, path: Path, mart: Mart) -> tuple[pa.Schema, int]:
    """The rows of `query` as a Parquet file, each column's description in its field metadata (`description`) and
    the table's in the schema metadata. DuckDB's COPY can only set file-level key-value metadata, so DuckDB streams
    the rows as Arrow batches and pyarrow writes them. Returns the file's Arrow schema and its rows."""
    reader = con.sql(query).to_arrow_reader(PARQUET_BATCH_ROWS)
    described = {name: {"description": text} for name, text in mart.columns.items()}
    columns = reader.schema
    schema = pa.schema(
        [column.with_metadata(described[column.name]) if column.name in described else column for column in columns],
        metadata={"description": mart.description} if mart.description else None,
    )
    rows = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in reader:
            writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
            rows += batch.num_rows
    return schema, rows


def file_entry(file: str, mart: Mart, schema: pa.Schema, rows: int) -> dict:
    """What _manifest.json says of one Parquet file (the release's as-of date and project version are added by
    publish): its table, description, rows and schema (column names, Arrow types, descriptions)."""
    return {
        "file": file,
        "table": mart.name,
        "description": mart.description,
        "rows": rows,
        "schema": [
            {"name": column.name, "type": str(column.type), "description": mart.columns.get(column.name, "")}
            for column in schema
        ],
    }


def write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")


# --- folders, links and the swap ---------------------------------------------------------------------


def current_release(root: Path) -> str | None:
    """Name of the release `root/current` points at, or None."""
    link = root / CURRENT
    return os.readlink(link) if link.is_symlink() else None


def releases_in(root: Path) -> list[str]:
    """Names of the complete releases in root, oldest first."""
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if RELEASE_NAME.match(entry.name) and entry.is_dir())


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def clean_leftovers(root: Path) -> list[str]:
    """Remove what a killed run left in a release folder: temporary folders and links, and releases renamed into
    place but never made current (newer than the current one). Returns their names."""
    if not root.is_dir():
        return []
    current = current_release(root)
    removed = []
    for entry in sorted(root.iterdir()):
        temporary = entry.name.startswith(TEMPORARY) or entry.name.startswith(f".{CURRENT}{TEMPORARY}")
        # renamed into place but never made current: newer than the current release, or there is none yet
        never_current = RELEASE_NAME.match(entry.name) and (current is None or entry.name > current)
        if temporary or never_current:
            _remove(entry)
            removed.append(entry.name)
    return removed


def point_link(link: Path, target: str | Path) -> None:
    """Make `link` a symlink to `target` in one step: a new link under a temporary name renamed over it."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}{TEMPORARY}{os.getpid()}")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    if link.is_dir() and not link.is_symlink():
        # an earlier version's export folder: moved aside, then replaced by the link (once, not atomic)
        aside = link.with_name(f".{link.name}{TEMPORARY}old-{os.getpid()}")
        os.replace(link, aside)
        os.replace(temporary, link)
        shutil.rmtree(aside, ignore_errors=True)
        return
    os.replace(temporary, link)


def prune(root: Path, keep: int) -> list[str]:
    """Remove all but the newest `keep` releases (the current one always stays). Returns the names removed."""
    current = current_release(root)
    names = [name for name in releases_in(root) if name != current]
    older = [name for name in names if current is None or name < current]
    doomed = older[: max(0, len(older) - (keep - 1))] + [name for name in names if current and name > current]
    for name in doomed:
        shutil.rmtree(root / name, ignore_errors=True)
    return doomed


# --- the whole publish step ---------------------------------------------------------------------------


@dataclass
class Plan:
    """Where a release goes and what it holds."""

    releases: Path
    activation: Path
    keep: int
    warehouse: Path
    catalog: str  # the warehouse's catalog name in the caller's connection
    marts: list[Mart]
    run_started_at: str
    links: dict[str, tuple[Path, Path]] = field(default_factory=dict)  # option -> (link path, target)
    project_version: str | None = field(default_factory=project_version)  # dbt_project.yml's, for the manifest


@dataclass
class Published:
    release_id: str
    release: Path
    activation: Path
    tables: dict[str, int]
    activation_tables: dict[str, int]
    as_of_date: str | None
    seconds: dict[str, float]
    pruned: list[str]


def publish(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    render_report: Callable[[], str],
    log: Callable[[str], None] = lambda _: None,
    on_commit: Callable[[], None] = lambda: None,
) -> Published:
    """Write the release and the activation release from the warehouse connection `con` (read-only), then make both
    current. `render_report` runs in a thread beside the writing (matplotlib in Python beside DuckDB's own threads).
    Any failure before the BI swap leaves both folders as they were and raises PublishFailure; `on_commit` is called
    right after it, before an interrupt can land."""
    timer = _Timer()
    bi_marts = [mart for mart in plan.marts if not mart.personal]
    personal = [mart for mart in plan.marts if mart.personal]
    as_of = _as_of_date(con, plan.catalog, [mart.name for mart in bi_marts])
    release_id = new_release_id(as_of)
    staging = {root: root / f"{TEMPORARY}{release_id}" for root in (plan.releases, plan.activation)}
    manifest = {"release": release_id, "run_started_at": plan.run_started_at, "as_of_date": as_of}
    committed: list[bool] = []  # set by the BI swap, the commit point
    try:
        for root in (plan.releases, plan.activation):
            removed = clean_leftovers(root)
            if removed:
                log(f"removed what an interrupted run left in {root}: {', '.join(removed)}")
        fault("leftovers_cleaned")
        with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="report") as pool:
            report = pool.submit(render_report)
            for folder in staging.values():
                folder.mkdir()
            bi_files = write_tables(plan.warehouse, staging[plan.releases], bi_marts, database=True)
            fault("parquet_written")
            activation_files = write_tables(plan.warehouse, staging[plan.activation], personal, database=False)
            activation_tables = {mart: entry["rows"] for mart, entry in activation_files.items()}
            write_json(
                staging[plan.activation] / MANIFEST,
                {**manifest, "tables": activation_tables, "files": _files(activation_files, as_of, plan)},
            )
            fault("activation_written")
            timer.lap("tables")
            html = report.result()
            timer.lap("report_wait")
        (staging[plan.releases] / REPORT).write_text(html, encoding="utf-8")
        fault("report_written")
        bi_tables = {mart: entry["rows"] for mart, entry in bi_files.items()}
        write_json(staging[plan.releases] / MANIFEST, {**manifest, "tables": bi_tables, "report": REPORT,
                                                        "database": DATABASE,
                                                        "files": _files(bi_files, as_of, plan)})  # fmt: skip
        fault("manifest_written")
        os.replace(staging[plan.activation], plan.activation / release_id)
        fault("activation_renamed")
        os.replace(staging[plan.releases], plan.releases / release_id)
        fault("release_renamed")
        for link, target in plan.links.values():
            point_link(link, target)
        fault("links_made")
        _swap_both(plan, release_id, committed, on_commit)
        timer.lap("swap")
    except BaseException as error:  # an interrupt or a bug too: no temporary folder outlives the run
        if committed:
            raise
        for root, folder in staging.items():
            shutil.rmtree(folder, ignore_errors=True)
            if current_release(root) != release_id:
                shutil.rmtree(root / release_id, ignore_errors=True)
        if isinstance(error, OSError | duckdb.Error):
            raise PublishFailure(
                f"Could not write the release to {plan.releases} and {plan.activation}: {error}. Nothing was "
                "published; the current release is unchanged."
            ) from None
        raise
    # Committed: from here on nothing may fail the run.
    pruned: list[str] = []
    for root in (plan.releases, plan.activation):
        try:
            pruned += prune(root, plan.keep)
        except OSError as error:  # pragma: no cover - a release in use on an odd file system
            log(f"warning: could not remove old releases in {root}: {error}")
    fault("pruned")
    return Published(
        release_id=release_id,
        release=plan.releases / CURRENT,
        activation=plan.activation / CURRENT,
        tables=bi_tables,
        activation_tables=activation_tables,
        as_of_date=as_of,
        seconds=timer.laps,
        pruned=pruned,
    )


def _swap_both(plan: Plan, release_id: str, committed: list[bool], on_commit: Callable[[], None]) -> None:
    """Activation first, then BI (the commit point), with SIGINT/SIGTERM ignored so that an interrupt cannot land
    between the two. If the BI swap fails, activation goes back to its previous release."""
    previous = current_release(plan.activation)
    handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        point_link(plan.activation / CURRENT, release_id)
        try:
            fault("activation_swapped")
            point_link(plan.releases / CURRENT, release_id)
        except OSError:
            if previous is None:
                (plan.activation / CURRENT).unlink(missing_ok=True)
            else:
                point_link(plan.activation / CURRENT, previous)
            shutil.rmtree(plan.activation / release_id, ignore_errors=True)
            shutil.rmtree(plan.releases / release_id, ignore_errors=True)
            raise
        committed.append(True)
        on_commit()
        fault("release_swapped")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _files(written: dict[str, dict], as_of: str | None, plan: Plan) -> list[dict]:
    """The manifest's `files`: per Parquet file its entry, with the release's as-of date and project version."""
    return [
        {**entry, "as_of_date": as_of, "project_version": plan.project_version} for _, entry in sorted(written.items())
    ]


def _as_of_date(con: duckdb.DuckDBPyConnection, catalog: str, marts: list[str]) -> str | None:
    if "customer_lifecycle" not in marts:
        return None
    value = con.execute(f'select max(as_of_date) from "{catalog}".marts.customer_lifecycle').fetchone()[0]
    return value.isoformat() if isinstance(value, dt.date) else value


class _Timer:
    def __init__(self):
        self.start = self.last = time.monotonic()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(now - self.last, 3)
        self.last = now


def remove_legacy_work_copy(database: Path) -> None:
    """Earlier versions built in `<dir>/.<name>.work/`; a killed run of theirs may have left it."""
    shutil.rmtree(database.parent / f".{database.name}.work", ignore_errors=True)
