"""The local Spark session of the `spark` target (profiles/profiles.yml), for callers outside dbt.

dbt-spark's session method runs Spark inside the dbt process: `SparkSession.builder.getOrCreate()` with the
profile's `server_side_parameters`. A process that starts the session first with the same settings (the raw
loader, the engine tests, the benchmark) gets that one session reused by every dbt call it makes, so the JVM
starts once and the embedded Derby metastore, which allows one JVM at a time, is never opened twice.

The settings are read from the profile itself (rendered with the same environment variables), so there is one
place to change them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import jinja2
import yaml

from . import PROJECT_DIR
from .errors import PipelineError

PROFILES_YML = PROJECT_DIR / "profiles" / "profiles.yml"
PROFILE = "customer_lifecycle"
TARGET = "spark"


class SparkUnavailableError(PipelineError):
    """Spark cannot start here: what to install, in one paragraph."""


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise KeyError(f"environment variable {name} is not set")
    return value


def profile_target(target: str = TARGET, profiles_yml: Path = PROFILES_YML) -> dict:
    """The target's settings as dbt renders them: every `{{ env_var(...) }}` read from this environment."""
    document = yaml.safe_load(profiles_yml.read_text(encoding="utf-8"))
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters["as_number"] = lambda value: float(value) if "." in str(value) else int(value)

    def render(value):
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        if isinstance(value, str):
            return environment.from_string(value).render(env_var=_env_var)
        return value

    return render(document[PROFILE]["outputs"][target])


def session_conf(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The Spark settings of the `spark` target, with its relative warehouse and Derby paths made absolute
    against `project_dir` (where dbt runs), so that a session started elsewhere finds the same metastore."""
    conf = {key: str(value) for key, value in profile_target()["server_side_parameters"].items()}
    warehouse = Path(conf["spark.sql.warehouse.dir"])
    conf["spark.sql.warehouse.dir"] = str(warehouse if warehouse.is_absolute() else project_dir / warehouse)
    options = []
    for option in conf.get("spark.driver.extraJavaOptions", "").split():
        if option.startswith("-Dderby.system.home="):
            home = Path(option.split("=", 1)[1])
            option = f"-Dderby.system.home={home if home.is_absolute() else project_dir / home}"
        options.append(option)
    conf["spark.driver.extraJavaOptions"] = " ".join(options)
    return conf


JAVA_PACKAGE = "openjdk-17-jre-headless"


def _find_java() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    return java if java and Path(java).exists() else None


def check_java(install: bool = False) -> str:
    """The `java` command Spark will use. When there is none: with `install`, as root on Debian/Ubuntu, apt-get
    installs openjdk-17-jre-headless (as CI needs it); otherwise SparkUnavailableError says what to install."""
    java = _find_java()
    if java is None and install and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", JAVA_PACKAGE], check=False, capture_output=True)
        java = _find_java()
    if java is None:
        raise SparkUnavailableError(
            f"Spark needs Java 17 (or 21) and none was found: install it (Debian/Ubuntu: apt-get install -y "
            f"{JAVA_PACKAGE}) or set JAVA_HOME. See docs/engines.md."
        )
    return java


def start_session(project_dir: Path = PROJECT_DIR, extra_conf: dict[str, str] | None = None, install: bool = False):
    """Start (or get) the process's Spark session with the `spark` target's settings; dbt calls in this process
    then reuse it. Raises SparkUnavailableError when pyspark or Java is missing (`install`: see check_java)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailableError(
            'The spark target needs pyspark and dbt-spark: pip install -e ".[spark]" (make setup installs them).'
        ) from None
    check_java(install)
    conf = {**session_conf(project_dir), **(extra_conf or {})}
    home = next(
        (option.split("=", 1)[1] for option in conf["spark.driver.extraJavaOptions"].split() if "derby" in option),
        None,
    )
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
