"""Every explorer widget in a real browser: JupyterLab in headless Chromium, driven by Playwright.

The unit tests call the widgets' pure functions; only a browser shows whether the widgets render
and redraw in JupyterLab (the labextension loads, the comms work, the pictures come back). The
test starts JupyterLab on a free loopback port, runs ``tests/browser/widgets.ipynb`` (every
explorer on a few toy pictures and untrained models), presses the right-arrow key on one slider of
each widget and checks that the picture changes, that no "Error displaying widget" appears and
that the page logs no JavaScript error. Screenshots before and after each move are saved under
``$CVLEARN_SCREENSHOTS``, else ``build/screenshots/browser/``.

Chromium is Debian's ``chromium`` package (``/usr/bin/chromium``) or ``$CVLEARN_CHROMIUM``;
Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cvlearn.widgets

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = Path(__file__).parent / "browser" / "widgets.ipynb"
CHROMIUM_ENV, SCREENSHOTS_ENV = "CVLEARN_CHROMIUM", "CVLEARN_SCREENSHOTS"
DEBIAN_CHROMIUM = "/usr/bin/chromium"

WIDGETS = (  # (the function, the label of the slider the test moves)
    ("prediction_explorer", "rotation °"),
    ("iou_playground", "A x"),
    ("prediction_browser", "picture"),
    ("threshold_explorer", "score ≥"),
    ("segmentation_explorer", "opacity"),
    ("score_explorer", "score ≥"),
    ("pose_explorer", "picture"),
    ("density_explorer", "picture"),
    ("panoptic_explorer", "picture"),
    ("augmentation_explorer", "seed"),
)

# The machine's network is closed, so Chromium must not try its own background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# The lab server is told not to fetch news, update notices or PyPI's extension list, so the page
# asks nothing of the outside world and, on the closed network, logs no error at all. The one
# thing still ignored is a request to another host failing at the network level (a learner's
# extension fetching a font, say): that is the network, not the course. A failed request to the
# lab server itself, or an HTTP error status from any host, is still an error.
NETWORK_FAILURE = re.compile(r"^Failed to load resource: net::ERR_")

SERVER_START_S, RUN_ALL_S, REDRAW_S, SERVER_STOP_S = 90, 240, 45, 20


# --------------------------------------------------------------------------------------------
# What the notebook must cover (runs without a browser)
# --------------------------------------------------------------------------------------------


def widget_functions() -> set[str]:
    """Names of the functions in ``cvlearn.widgets`` that build an ipywidget."""
    found = set()
    for _, module in inspect.getmembers(cvlearn.widgets, inspect.ismodule):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and "import ipywidgets" in inspect.getsource(function):
                found.add(name)
    return found


def test_the_browser_notebook_calls_every_widget():
    """A new explorer added to ``cvlearn.widgets`` must be added to the browser test too."""
    assert {name for name, _ in WIDGETS} == widget_functions()
    sources = "\n".join("".join(cell["source"]) for cell in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"])
    for name, _ in WIDGETS:
        assert f"widgets.{name}(" in sources, f"{NOTEBOOK.name} never calls widgets.{name}"


# --------------------------------------------------------------------------------------------
# Chromium and the screenshots' folder
# --------------------------------------------------------------------------------------------


def chromium_path() -> str | None:
    """``$CVLEARN_CHROMIUM`` if set, else Debian's Chromium if installed, else None."""
    chosen = os.environ.get(CHROMIUM_ENV)
    if chosen:
        if not Path(chosen).is_file():
            raise FileNotFoundError(f"{CHROMIUM_ENV} must name a Chrome or Chromium executable, got {chosen!r}")
        return chosen
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).is_file() else None


def screenshot_folder() -> Path:
    """Where the screenshots go: ``$CVLEARN_SCREENSHOTS``, else ``build/screenshots/browser/``."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or REPO / "build" / "screenshots" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------------------------
# The JupyterLab server
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_lab_settings(config_dir: Path) -> None:
    """User settings for a test lab: every cell rendered (no windowing, so cells off screen keep
    their outputs in the page) and no news or update checks (the network is closed)."""
    settings = {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for plugin, values in settings.items():
        path = config_dir / "lab" / "user-settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def lab_environment(base: Path) -> dict[str, str]:
    """The environment of a lab that leaves the user's Jupyter and IPython set-up alone.

    Only the user-level folders move to ``base``; the venv's own ``share/jupyter`` (where
    jupyterlab_widgets' labextension lives) is still searched, and the kernel is the venv's.
    """
    env = dict(os.environ)
    for variable, folder in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),
        ("IPYTHONDIR", "ipython"),
    ):
        env[variable] = str(base / folder)
        (base / folder).mkdir(parents=True, exist_ok=True)
    env.pop("MPLBACKEND", None)  # a non-inline backend would show no figure in the notebook
    write_lab_settings(base / "config")
    return env


def lab_command(root_dir: Path, port: int, token: str) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:  # containers run as root; Jupyter refuses that unless told
        command.append("--allow-root")
    return command


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until_answering(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {server.returncode}:\n{log.read_text()[-3000:]}")
        if answers(url):
            return
        time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url} within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen, base_url: str, token: str) -> None:
    """Ask the server to shut down (it stops its kernels), then terminate or kill it if it lingers."""
    request = urllib.request.Request(
        f"{base_url}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
    )
    with contextlib.suppress(urllib.error.URLError, OSError):  # already gone is fine
        urllib.request.urlopen(request, timeout=5).close()
    for end in (lambda: None, server.terminate, server.kill):
        end()
        try:
            server.wait(timeout=SERVER_STOP_S)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A JupyterLab server on a free loopback port, with the widgets notebook in its root folder."""
    base = tmp_path_factory.mktemp("lab")
    root_dir = base / "root"
    root_dir.mkdir()
    shutil.copy(NOTEBOOK, root_dir / NOTEBOOK.name)
    port, token = free_port(), secrets.token_hex(16)
    base_url = f"http://127.0.0.1:{port}"
    log = base / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            lab_command(root_dir, port, token),
            env=lab_environment(base),
            cwd=root_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_answering(server, f"{base_url}/api/status?token={token}", log)
        yield {"url": base_url, "token": token, "log": str(log)}
    finally:
        stop(server, base_url, token)


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

# Each picture in an element, as its pixels (drawn through a canvas, so a picture sent again
# unchanged counts as unchanged) reduced to a short hash; "loading" for one not decoded yet.
PICTURES_JS = """
(element) => {
  const hash = (s) => { let h = 0; for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; return h; };
  const pictures = [];
  for (const img of element.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) { pictures.push('loading'); continue; }
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    canvas.getContext('2d').drawImage(img, 0, 0);
    pictures.push(hash(canvas.toDataURL()));
  }
  for (const canvas of element.querySelectorAll('canvas')) pictures.push(hash(canvas.toDataURL()));
  return pictures;
}
"""

KERNEL_IDLE_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel && panel.sessionContext.session.kernel.status === 'idle';
}
"""

ALL_CELLS_RAN_JS = """
() => {
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent);
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p));
}
"""


def is_benign(message: Any, lab_url: str) -> bool:
    """A console error that is the closed network's doing (see :data:`NETWORK_FAILURE`)."""
    source = message.location.get("url", "") if message.location else ""
    return bool(NETWORK_FAILURE.match(message.text)) and not source.startswith(lab_url)


def watch_errors(page: Any, lab_url: str) -> list[str]:
    """Uncaught exceptions and console errors of the page, as they happen (benign ones left out)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not is_benign(message, lab_url)
            and errors.append(f"console: {message.text} ({message.location})")
        ),
    )
    return errors


def run_notebook(page: Any, lab: dict[str, str]) -> None:
    """Open the widgets notebook in JupyterLab, wait for its kernel, and run all its cells."""
    page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK.name}?reset&token={lab['token']}")
    page.wait_for_function(
        "() => window.jupyterapp && document.querySelector('.jp-NotebookPanel .jp-CodeCell')",
        timeout=SERVER_START_S * 1000,
    )
    page.wait_for_function(KERNEL_IDLE_JS, timeout=SERVER_START_S * 1000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_CELLS_RAN_JS, timeout=RUN_ALL_S * 1000)


def wait_for_pictures(output: Any, differ_from: list | None = None) -> list:
    """The output's picture hashes once all have loaded (and, if given, differ from
    ``differ_from``); the last ones seen if that does not happen within ``REDRAW_S``."""
    deadline = time.monotonic() + REDRAW_S
    while True:
        pictures = output.evaluate(PICTURES_JS)
        loaded = pictures and "loading" not in pictures
        if (loaded and pictures != differ_from) or time.monotonic() > deadline:
            return pictures
        time.sleep(0.25)


def widget_output(page: Any, name: str) -> Any:
    """The output area of the one cell that calls ``widgets.NAME(``."""
    cell = page.locator(".jp-CodeCell").filter(has_text=f"widgets.{name}(")
    assert cell.count() == 1, f"expected one cell calling widgets.{name}( in {NOTEBOOK.name}, found {cell.count()}"
    return cell.locator(".jp-Cell-outputArea")


def find_slider(output: Any, label: str) -> Any:
    slider = output.locator(".widget-slider").filter(
        has=output.page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(label)}$"))
    )
    assert slider.count() == 1, f"expected one slider labelled {label!r}, found {slider.count()}"
    return slider


def assert_no_failure_shown(output: Any, name: str, when: str) -> None:
    """Neither a widget that failed to render nor a Python traceback (a widget's callbacks print
    theirs into the widget's own output area, where the next redraw may wipe it)."""
    assert output.get_by_text("Error displaying widget").count() == 0, f"{name} {when}: Error displaying widget"
    failed = output.locator(".jp-OutputArea-output").filter(has_text="Traceback")
    assert failed.count() == 0, f"{name} {when}: a Python error is shown:\n{failed.first.inner_text()[-2000:]}"


def check_one_widget(page: Any, name: str, label: str, stem: Path) -> None:
    """Press the right-arrow key on one slider of one widget: the slider must move and the
    picture change, with no failure shown before or after; both states are screenshot."""
    output = widget_output(page, name)
    output.scroll_into_view_if_needed()
    before = wait_for_pictures(output)
    output.screenshot(path=f"{stem}_before.png")
    assert_no_failure_shown(output, name, "before the move")
    assert before and "loading" not in before, f"{name}: no picture shown"
    slider = find_slider(output, label)
    readout, handle = slider.locator(".widget-readout"), slider.locator(".noUi-handle")
    value_before = readout.inner_text()
    handle.focus()
    handle.press("ArrowRight")
    after = wait_for_pictures(output, differ_from=before)
    output.screenshot(path=f"{stem}_after.png")
    assert_no_failure_shown(output, name, f"after moving {label!r}")
    assert readout.inner_text() != value_before, f"{name}: the {label!r} slider did not move"
    assert after != before, f"{name}: the picture did not change within {REDRAW_S} s of moving {label!r}"


# --------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser's path; skips (one line saying how to enable the test) when there is none."""
    path = chromium_path()
    if path is None:
        pytest.skip(f"no Chromium: `apt-get install chromium` or set {CHROMIUM_ENV}=/path/to/chrome to run it")
    return path


@pytest.mark.browser
def test_every_widget_redraws_in_jupyterlab(chromium, lab, capsys):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: pip install -e '.[dev]'")
    folder = screenshot_folder()
    with capsys.disabled():
        print(f"\nbrowser test screenshots: {folder}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            errors = watch_errors(page, lab["url"])
            try:
                run_notebook(page, lab)
            except sync_api.TimeoutError:
                page.screenshot(path=folder / "00_notebook_timed_out.png")
                log = Path(lab["log"]).read_text(errors="replace")[-3000:]
                pytest.fail(f"the notebook did not run to the end in JupyterLab; the server's log ends:\n{log}")
            page.screenshot(path=folder / "00_notebook.png")
            for number, (name, label) in enumerate(WIDGETS, start=1):
                check_one_widget(page, name, label, folder / f"{number:02d}_{name}")
            page.screenshot(path=folder / "99_notebook_after.png")
            failed = page.locator(".jp-OutputArea-output").filter(has_text="Traceback")
            assert failed.count() == 0, f"a cell failed:\n{failed.first.inner_text()[-2000:]}"
            assert page.get_by_text("Error displaying widget").count() == 0, "a widget failed to render"
            assert errors == [], "JavaScript errors in the page:\n" + "\n".join(errors)
        finally:
            browser.close()
