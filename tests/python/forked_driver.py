"""The driver's release phase in a forked process, for the tests that kill it many times (test_release.py).

A fresh `python -c ...` paid about 1.6 s a run (idle; more under load) for importing the driver (DuckDB,
pyarrow, matplotlib). A fork server that imported the driver once starts each run at once; the run is still a
process of its own, so a SIGKILL ends it as it would end the driver.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

from lifecycle_pipeline.cli import main

FORKS = multiprocessing.get_context("forkserver")
# The server imports only what is installed (Python 3.11 does not hand it the caller's sys.path).
FORKS.set_forkserver_preload(["lifecycle_pipeline.cli", "lifecycle_pipeline.report"])


def _release_only(args: list[str], env: dict[str, str], cwd: Path, stderr: Path) -> None:
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    with open(stderr, "w") as handle:
        os.dup2(handle.fileno(), 2)
    sys.exit(main(args, build=False))


def release_only(args: list[str], env: dict[str, str], cwd: Path, stderr: Path) -> subprocess.CompletedProcess:
    """cli.main(args, build=False) in a forked process with `env`; its exit code (-9 when killed) and stderr."""
    process = FORKS.Process(target=_release_only, args=(args, env, cwd, stderr))
    process.start()
    process.join(timeout=300)
    if process.is_alive():
        process.kill()
        process.join()
        raise AssertionError(f"release-only run still running after 300 s: {args}")
    return subprocess.CompletedProcess(args, process.exitcode, "", stderr.read_text())
