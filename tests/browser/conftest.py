"""Real-browser fixtures: a fresh JupyterLab server and Debian Chromium (pytest-playwright).

Recipes from TESTING.md: ``/usr/bin/chromium`` with the flags that keep it off the network,
one JupyterLab server per test session on a free port with ``port_retries=0``, temporary
``JUPYTER_*`` folders, settings that keep news / update overlays away, and "Run All Cells"
through the menu. Any panel's test can reuse them::

    @pytest.mark.browser
    def test_my_panel(lab):
        page = lab.open_notebook(NOTEBOOK)   # copied into the server's root, then opened
        lab.run_all_cells()
        lab.wait_for(".my-panel")
        ...
        lab.assert_widgets_healthy()

The kernel inherits the server's environment: ``ASTROAD_FAST=1`` and
``ASTROAD_LABELS_DB=<root>/labels.sqlite`` (``lab_server.labels_db``), so a test can read the
labels a click wrote with :mod:`sqlite3`. On failure, a full-page screenshot and the server log
go to ``test-artifacts/``.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def pytest_collection_modifyitems(items):
    for item in items:  # everything in this folder drives a real browser
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------------------- Chromium
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at Debian's Chromium (never `playwright install`)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: `apt-get install -y chromium chromium-driver` "
                    "(CI's .ci/run does) to run the real-browser tests")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


# --------------------------------------------------------------------------- JupyterLab server
@dataclass
class LabServer:
    """A running JupyterLab: its URL, root folder, label database and log file."""

    url: str
    root: Path
    labels_db: Path
    log: Path
    process: subprocess.Popen = field(repr=False)
    resets: int = 0

    def api(self, method: str, path: str):
        """Call the server's REST API (no token; XSRF cookie + header, as a browser sends)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(self.url + "lab", timeout=30).read()  # sets the _xsrf cookie
        xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"X-XSRFToken": xsrf})
        with opener.open(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def reset(self):
        """Give the next test a clean slate on the same server: shut down every kernel (they
        hold the label database open and cost CPU) and move the label database aside, so
        ``labels_db`` holds only the labels that test writes."""
        for session in self.api("GET", "api/sessions"):
            self.api("DELETE", f"api/sessions/{session['id']}")
        for kernel in self.api("GET", "api/kernels"):
            self.api("DELETE", f"api/kernels/{kernel['id']}")
        self.resets += 1
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{self.labels_db}{suffix}")
            if old.exists():
                old.rename(old.with_name(f"previous-{self.resets}-{old.name}"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url) -> bool:
    try:
        with urllib.request.urlopen(url + "api/status", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _start_lab(base: Path, env: dict, root: Path) -> tuple[subprocess.Popen, str, Path]:
    """Start JupyterLab on a free port; a busy port (race) fails fast and we pick another."""
    for attempt in range(3):
        port = _free_port()
        log = base / f"jupyterlab-{attempt}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ip=127.0.0.1", f"--port={port}", "--IdentityProvider.token=",
             "--ServerApp.password=", "--ServerApp.port_retries=0",
             f"--ServerApp.root_dir={root}"],
            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(url):
                return process, url, log
            time.sleep(0.25)
        _stop(process)
    raise RuntimeError(f"JupyterLab did not start; last log:\n{log.read_text()[-3000:]}")


def _stop(process):
    """Stop the server by its PID (its own process group: the kernels go with it)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, browser_type_launch_args):
    """A fresh JupyterLab server for this test session (a reopened notebook would reattach to
    its old kernel), with its own config / runtime / settings / workspace folders."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    root.mkdir()
    env = {**os.environ, "ASTROAD_FAST": "1", "ASTROAD_LABELS_DB": str(root / "labels.sqlite"),
           "PYTHONUNBUFFERED": "1"}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(base / name.lower())
        Path(env[name]).mkdir()
    for rel, settings in LAB_SETTINGS.items():
        path = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    process, url, log = _start_lab(base, env, root)
    server = LabServer(url=url, root=root, labels_db=root / "labels.sqlite", log=log,
                       process=process)
    yield server
    _stop(process)


# --------------------------------------------------------------------------- a notebook page
class LabSession:
    """Drive one notebook in JupyterLab: open, run all, wait, check widgets rendered."""

    def __init__(self, server: LabServer, page):
        self.server, self.page = server, page
        self.page_errors: list[str] = []
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def open_notebook(self, notebook: Path, timeout_s: float = 60):
        """Copy ``notebook`` into the server's root, open it and wait for an idle kernel."""
        notebook = Path(notebook)
        shutil.copy(notebook, self.server.root / notebook.name)
        # ?reset: a fresh workspace, so notebooks of earlier tests are not reopened beside it
        self.page.goto(f"{self.server.url}lab/tree/{notebook.name}?reset")
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=timeout_s * 1000)
        # the kernel is ready when the status bar says so (the toolbar indicator starts "idle")
        self.page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).first.wait_for(
            timeout=timeout_s * 1000)
        self.wait_idle(timeout_s)
        return self.page

    def run_all_cells(self, attempts: int = 3):
        """Menu Run -> Run All Cells (after focusing a cell, as a user would).

        A click that lands while the page is still wiring the kernel can be dropped, so we
        check that the cells were queued ("[*]" or a number in a prompt) and click again if not.
        """
        prompts = self.page.locator(".jp-Notebook .jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
        for _ in range(attempts):
            self.page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
            self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            try:
                prompts.first.wait_for(state="attached", timeout=15_000)
                return
            except Exception:
                self.page.keyboard.press("Escape")
        raise AssertionError(f"Run All Cells did not start after {attempts} attempts")

    def wait_idle(self, timeout_s: float = 60):
        self.page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
            state="attached", timeout=timeout_s * 1000)

    def wait_for(self, selector: str, timeout_s: float = 180):
        """Wait until ``selector`` is visible in an output area (e.g. a panel's CSS class)."""
        locator = self.page.locator(f".jp-OutputArea-output {selector}").first
        try:
            locator.wait_for(state="visible", timeout=timeout_s * 1000)
        except Exception as exc:  # say which cell failed instead of just "timeout"
            errors = self.page.locator(".jp-OutputArea-output[data-mime-type*='error']")
            text = errors.first.inner_text() if errors.count() else "(no error output)"
            raise AssertionError(f"{selector} did not appear in {timeout_s} s; "
                                 f"first error output: {text[-2000:]}") from exc
        return locator

    def screenshot(self, locator, name: str) -> Path:
        """Save a screenshot of ``locator`` as ``test-artifacts/<name>.png`` (for people to look at)."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        locator.screenshot(path=str(path))
        return path

    def assert_widgets_healthy(self):
        """No widget left loading or broken, no JavaScript error on the page."""
        body = self.page.locator("body")
        assert self.page.get_by_text("Error displaying widget").count() == 0, body.inner_text()[-2000:]
        assert self.page.get_by_text("Loading widget...").count() == 0
        assert self.page_errors == []


@pytest.fixture
def lab(lab_server, page, request):
    """A :class:`LabSession` on a fresh page, no kernel running and an empty label database;
    screenshot + server log to test-artifacts/ on failure."""
    lab_server.reset()
    session = LabSession(lab_server, page)
    yield session
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]", "_", request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        shutil.copy(lab_server.log, ARTIFACTS / f"{name}-jupyterlab.log")
