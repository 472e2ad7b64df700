#!/usr/bin/env python3
"""Start and stop a throwaway PostgreSQL server for tests, trials and benchmarks (docs/engines.md).

    python scripts/pg_server.py start --dir /tmp/lifecycle-pg   # prints the LIFECYCLE_PG_* settings
    python scripts/pg_server.py stop --dir /tmp/lifecycle-pg    # stops it and removes the folder

The server is a cluster of its own in `--dir` (initdb, then pg_ctl), listening on 127.0.0.1 only, on a free port,
with its socket in the same folder: it touches no other cluster on the machine. It is made for throwaway data
(fsync off), never for data you keep. Run as root, initdb and the server run as user `postgres` (PostgreSQL
refuses root), and a missing PostgreSQL is installed with `apt-get install -y postgresql`; without root or apt,
the error names what to install.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATABASE = "lifecycle"
USER = "postgres"
STATE_FILE = "server.json"


class PgServerError(RuntimeError):
    """PostgreSQL cannot be found, installed, started or stopped; the message says what to do."""


@dataclass
class PgServer:
    """A running throwaway server: where it lives and how to connect."""

    folder: Path
    bin_dir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = USER
    dbname: str = DATABASE

    def env(self) -> dict[str, str]:
        """The LIFECYCLE_PG_* variables that point profiles/profiles.yml's `postgres` target here."""
        return {
            "LIFECYCLE_PG_HOST": self.host,
            "LIFECYCLE_PG_PORT": str(self.port),
            "LIFECYCLE_PG_USER": self.user,
            "LIFECYCLE_PG_PASSWORD": "",
            "LIFECYCLE_PG_DBNAME": self.dbname,
        }

    def psql(self, sql: str, dbname: str | None = None) -> str:
        """Run `sql` with psql against the server; return its unaligned output."""
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                *("-h", self.host, "-p", str(self.port), "-U", self.user, "-d", dbname or self.dbname),
                *("-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise PgServerError(f"psql failed: {result.stderr.strip()}")
        return result.stdout


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _installed_bin_dirs() -> list[Path]:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return [p for p in reversed(found) if (p / "initdb").exists() and (p / "pg_ctl").exists()]


def find_bin_dir(install: bool = True) -> Path:
    """The folder with initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin (newest), else installed
    with apt-get when allowed and possible; otherwise PgServerError naming what to install."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    dirs = _installed_bin_dirs()
    if dirs:
        return dirs[0]
    if install and _is_root() and shutil.which("apt-get"):
        print("PostgreSQL is not installed: apt-get install -y postgresql", file=sys.stderr, flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        attempt = subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], env=env)
        if attempt.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], env=env, check=False)
        dirs = _installed_bin_dirs()
        if dirs:
            return dirs[0]
    raise PgServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them, e.g. as root on Debian/Ubuntu: "
        "`apt-get install -y postgresql` (or put the folder with initdb and pg_ctl on PATH), then run again."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL will not run as root: as root, run the command as user `postgres`."""
    if not _is_root():
        return command
    runner = shutil.which("runuser")
    if runner:
        return [runner, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(_quote(part) for part in command)]


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\"'\"'") + "'"


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True)
    if result.returncode != 0:
        raise PgServerError(f"{what} failed ({result.returncode}): {(result.stderr or result.stdout).strip()}")


def start(folder: Path | None = None, port: int | None = None, install: bool = True) -> PgServer:
    """initdb a new cluster in `folder` (a new temporary folder when None; it must not hold a cluster yet), start it
    on 127.0.0.1:`port` (a free one when None) and create database `lifecycle`."""
    bin_dir = find_bin_dir(install=install)
    folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="lifecycle-pg-"))
    folder.mkdir(parents=True, exist_ok=True)
    data_dir = folder / "data"
    if data_dir.exists():
        raise PgServerError(f"{data_dir} exists: stop that server first (pg_server.py stop --dir {folder})")
    if _is_root():
        shutil.chown(folder, user="postgres", group=None)
        folder.chmod(0o755)
    port = port or _free_port()
    _run(
        [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"],
        "initdb",
    )
    options = (
        f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c TimeZone=UTC"
    )
    _run(
        [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-l", str(folder / "server.log"), "-w", "start"],
        "pg_ctl start",
    )
    server = PgServer(folder=folder, bin_dir=bin_dir, port=port)
    (folder / STATE_FILE).write_text(json.dumps({"bin_dir": str(bin_dir), "port": port}))
    try:
        server.psql(f"create database {DATABASE}", dbname="postgres")
    except PgServerError:
        stop(folder)
        raise
    return server


def stop(folder: Path, remove: bool = True) -> None:
    """Stop the server of `folder` (fast shutdown) and, with `remove`, delete the folder."""
    folder = Path(folder)
    state_path = folder / STATE_FILE
    if (folder / "data" / "postmaster.pid").exists():
        bin_dir = Path(json.loads(state_path.read_text())["bin_dir"]) if state_path.exists() else find_bin_dir(False)
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-w", "-t", "120", "stop"]
        try:
            _run([*pg_ctl, "-m", "fast"], "pg_ctl stop")
        except PgServerError:
            # a backend deep in a long statement on a loaded machine: throwaway data, stop it hard
            _run([*pg_ctl, "-m", "immediate"], "pg_ctl stop -m immediate")
    if remove:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running(folder: Path | None = None) -> Iterator[PgServer]:
    """A server for the duration of a `with` block, stopped and removed afterwards."""
    server = start(folder)
    try:
        yield server
    finally:
        stop(server.folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, help="the server's folder (start: default a new temporary folder)")
    parser.add_argument("--port", type=int, help="start: the port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="stop: keep the folder (data and server.log)")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            server = start(args.dir, args.port)
            for name, value in server.env().items():
                print(f"export {name}={value}")
            print(f"# stop with: python scripts/pg_server.py stop --dir {server.folder}")
        else:
            if args.dir is None:
                parser.error("stop needs --dir")
            stop(args.dir, remove=not args.keep)
    except PgServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
