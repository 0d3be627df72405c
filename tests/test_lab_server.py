"""`make lab` starts JupyterLab, as a normal user and as root (Docker and JupyterHub images).

The test runs `make lab` itself in the background, with the Makefile's LAB_ARGS adding a fixed
loopback port, a token and no browser, waits until the server answers its status API, and stops
the whole process group (make and the server it started).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAMP = ROOT / ".venv" / ".installed"
START_S = 120
"""The longest a cold JupyterLab may take to answer on a busy 2-core machine."""
STOP_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(port: int, token: str) -> int | None:
    """The HTTP status of the server's /api/status, or None while nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None


def _stop(server: subprocess.Popen) -> None:
    """Terminate the process group; kill it if it outlives STOP_S."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=STOP_S)
    except ProcessLookupError:
        pass


@pytest.mark.skipif(
    sys.platform == "win32", reason="make lab is the Linux and macOS path; README gives Windows' commands"
)
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / "jupyter").exists(), reason="no .venv with jupyter: run `make install`"
)
def test_make_lab_serves_on_loopback(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    lab_args = (
        f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --ServerApp.token={token} "
        "--ServerApp.open_browser=False --ServerApp.port_retries=0"
    )
    # -o: take the installed .venv as it is (no pip install here); the lab recipe itself is unchanged.
    command = ["make", "-o", str(STAMP.relative_to(ROOT)), "lab", f"LAB_ARGS={lab_args}"]
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
    }  # no user config (a password) changes the test
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_S
        status = None
        while status is None and server.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
            status = _status(port, token)
        assert status == 200, (
            f"`make lab` gave no answer on 127.0.0.1:{port} (status {status}, "
            f"exit {server.poll()}):\n{log.read_text()[-3000:]}"
        )
    finally:
        _stop(server)
    assert "Running as root is not recommended" not in log.read_text()
    assert _status(port, token) is None, "the server still answers after its process group was stopped"
