"""The HTML report in a real browser: headless Chromium (Debian's `chromium` package) opens the report rendered
from the three-date history warehouse (conftest.built_dates) and must show it without a console error or a
network request, with every chart drawn in a visible, non-empty box; a screenshot is written to
target/report-screenshot.png (and the page beside it, target/report-screenshot.html) for people to look at.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-separated JSON on file
descriptors 3 and 4), so no client library is needed and the browser reports console messages with their level,
uncaught exceptions and failed loads. When chromium is missing the test installs it (apt-get, as root); where it
cannot, it fails with a message naming the package.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from conftest import HISTORY_DATES
from dbt_harness import PROJECT_DIR

from lifecycle_pipeline import report
from lifecycle_pipeline import summary as run_summary

SCREENSHOT = PROJECT_DIR / "target" / "report-screenshot.png"
TIMEOUT = 60.0
WIDTH = 1200

# Every chart of the page: its section, box, visibility and how many marks it draws. Nested <svg> elements
# (inside a chart) are part of their chart.
CHARTS_JS = """
Array.from(document.querySelectorAll('svg, img'))
  .filter((e) => !(e.parentElement && e.parentElement.closest('svg')))
  .map((e) => {
    const box = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    const section = e.closest('section');
    const isImg = e.tagName.toLowerCase() === 'img';
    return {
      tag: e.tagName.toLowerCase(),
      section: section ? section.querySelector('h2').textContent : '',
      width: box.width,
      height: box.height,
      shown: style.display !== 'none' && style.visibility !== 'hidden' && Number(style.opacity) > 0,
      marks: isImg ? (e.complete && e.naturalWidth > 0 ? 1 : 0)
                   : e.querySelectorAll('path, rect, line, polygon, polyline, circle, image, use').length,
      texts: isImg ? 0 : e.querySelectorAll('text').length,
    };
  })
"""


def find_chromium() -> str:
    """The chromium executable; installed with apt-get when missing and running as root, else a clear failure."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    detail = "not running as root, so the test cannot install it"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "chromium"]
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200)
        if result.returncode != 0:  # perhaps a stale package list
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=600)
            result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200)
        found = shutil.which("chromium")
        if found:
            return found
        detail = f"`apt-get install -y chromium` failed:\n{result.stdout[-1000:]}\n{result.stderr[-1500:]}"
    pytest.fail(
        "The report's browser check needs headless Chromium: install Debian's `chromium` package "
        f"(`apt-get install -y chromium`, as root) and run the tests again ({detail})",
        pytrace=False,
    )


class DevTools:
    """A headless Chromium and its DevTools protocol over a pipe: `call` sends a command and returns its result;
    every event received meanwhile is kept in `events`."""

    def __init__(self, executable: str, profile: Path):
        child_in, self._to_child = os.pipe()
        self._from_child, child_out = os.pipe()

        def pipes_as_3_and_4() -> None:  # in the child, before exec: the protocol's file descriptors
            high_in, high_out = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (child_in, child_out))
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        args = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
            f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
            "--mute-audio", f"--window-size={WIDTH},900", "about:blank",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            close_fds=False,
            preexec_fn=pipes_as_3_and_4,
        )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed the pipe: {self.process.stderr.read().decode()[-2000:]}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            received = self._receive(deadline)
            if received.get("id") == self._next_id:
                if "error" in received:
                    raise RuntimeError(f"{method}: {received['error']}")
                return received.get("result", {})
            self.events.append(received)

    def wait_for(self, event: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        for seen in self.events:
            if seen.get("method") == event:
                return seen
        while True:
            received = self._receive(deadline)
            self.events.append(received)
            if received.get("method") == event:
                return received

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):  # it may be gone already
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        self.process.stderr.close()


def unlabelled_axes(fig) -> list[str]:
    """The plot areas of a figure that lack a title, an x label or a y label (a y axis shared with a labelled
    neighbour counts as labelled; a colour bar needs its label only)."""
    missing = []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        if hasattr(ax, "_colorbar"):
            if not (ax.get_ylabel() or ax.get_xlabel()):
                missing.append("colour bar without a label")
            continue
        title = ax.get_title() or ax.get_title("left") or fig.get_suptitle()
        shared_y = ax.get_shared_y_axes().get_siblings(ax)
        name = title or "untitled"
        if not title:
            missing.append(f"{name}: no title")
        if not ax.get_xlabel():
            missing.append(f"{name}: no x label")
        if not any(other.get_ylabel() for other in shared_y):
            missing.append(f"{name}: no y label")
    return missing


@pytest.fixture(scope="module")
def rendered(built_dates, tmp_path_factory) -> dict:
    """The report of the warehouse after the three dates, rendered as the driver does, and what each chart's
    figure lacked in labels."""
    folder = tmp_path_factory.mktemp("report")
    database = folder / "warehouse.duckdb"
    shutil.copyfile(built_dates[HISTORY_DATES[-1]], database)
    missing: list[str] = []
    draw = report._svg

    def checked(fig) -> str:
        missing.extend(unlabelled_axes(fig))
        return draw(fig)

    with pytest.MonkeyPatch.context() as patch, duckdb.connect(str(database), read_only=True) as con:
        patch.setattr(report, "_svg", checked)
        summary = run_summary.collect(con)
        summary.update(status="succeeded", started_at="2024-02-07T06:00:00+00:00", phases={"dbt": 1.0})
        html = report.render(con, summary)
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    return {"path": path, "html": html, "unlabelled": missing}


@pytest.fixture(scope="module")
def browsed(rendered, tmp_path_factory) -> dict:
    """The report opened in headless Chromium: its charts' boxes, the protocol's events and a full-page
    screenshot (written to target/)."""
    browser = DevTools(find_chromium(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        page = next(t for t in browser.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = browser.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=session)
        browser.call("Page.navigate", {"url": rendered["path"].as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        charts = browser.call("Runtime.evaluate", {"expression": CHARTS_JS, "returnByValue": True}, session=session)[
            "result"
        ]["value"]
        size = browser.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = browser.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
            session=session,
        )
    finally:
        browser.close()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))
    SCREENSHOT.with_suffix(".html").write_text(rendered["html"], encoding="utf-8")
    return {"charts": charts, "events": browser.events, "height": size["height"]}


def test_every_chart_has_a_title_and_labelled_axes(rendered):
    assert rendered["unlabelled"] == []


def test_the_report_loads_without_console_errors_or_network_requests(browsed):
    events = browsed["events"]
    errors = [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"]
    errors += [
        e["params"]
        for e in events
        if e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert", "warning")
    ]
    errors += [
        e["params"]["entry"]
        for e in events
        if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning")
    ]
    assert errors == []
    requested = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    assert requested, "the browser recorded no request at all: the page was not loaded"
    # one offline file: the page itself and images inlined as data: URLs, nothing fetched
    assert all(url.startswith(("file://", "data:")) for url in requested), requested
    assert any(e.get("method") == "Page.loadEventFired" for e in events)


def test_every_chart_is_drawn_in_a_visible_non_empty_box(browsed):
    charts = browsed["charts"]
    assert len(charts) >= 8
    for chart in charts:
        assert chart["shown"] and chart["width"] >= 100 and chart["height"] >= 60, chart
        assert chart["marks"] > 0 and chart["texts"] > 0, chart
    sections = {chart["section"] for chart in charts}
    for section in (
        "Lifecycle stages",
        "Stage mix over time",
        "Stage transitions since the previous as-of date",
        "RFM segments: persons and revenue",
        "Cohorts: who comes back after the first purchase",
        "Engagement and VIPs",
    ):
        assert section in sections, (section, sections)


def test_a_full_page_screenshot_is_written_under_target(browsed):
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == WIDTH and height == int(browsed["height"]) and height > 2000


def test_the_report_opens_with_what_changed_since_the_last_run(rendered):
    html = rendered["html"]
    block = html[html.index('<div class="changes">') : html.index("</div>", html.index('<div class="changes">'))]
    assert html.index('<div class="changes">') < html.index("<section>")  # before every section
    # Feb 3 → Feb 6 of the history fixture: alice back from at_risk to repeat, nobody new (test_history.py).
    assert "Since the last run (2024-02-03 → 2024-02-06, 3 days): 1 person changed stage" in block
    assert "1 buyer won back (at risk or lapsed → new or repeat)" in block
    assert "at_risk 1 → 0 (-1)" in block and "repeat 0 → 1 (+1)" in block
