"""`make wheelhouse` for a room with poor Wi-Fi: it downloads every wheel the course installs, and
``pip install --no-index --find-links wheelhouse -e .`` then installs the course from that folder
alone, into a fresh virtual environment, with the network shut off for pip.

Slow (about 3 GB of wheels and a 5 GB environment, a few minutes), so it is marked ``install``
and runs once per ``make test``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.install

NO_NETWORK = {
    "PIP_NO_INDEX": "1",
    # anything that still tried the network would meet a closed port, not PyPI
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "PIP_CONFIG_FILE": os.devnull,
}


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=1500
    )
    command = " ".join(map(str, args))
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    folder = tmp_path_factory.mktemp("room") / "wheelhouse"
    run("make", "wheelhouse", f"WHEELHOUSE={folder}", f"PYTHON={sys.executable}")
    return folder


def test_the_wheelhouse_holds_wheels_for_every_requirement(wheelhouse):
    names = {p.name.split("-")[0].lower().replace("_", "-") for p in wheelhouse.glob("*.whl")}
    for needed in ("torch", "torchvision", "jupyterlab", "ipywidgets", "pycocotools", "pip", "setuptools", "nbgrader"):
        assert needed in names, f"{needed} is missing from the wheelhouse"
    assert not list(wheelhouse.glob("*.tar.gz")), "only wheels: a source archive would need building in the room"


def test_pip_installs_the_course_from_the_wheelhouse_alone(wheelhouse, tmp_path):
    env_dir = tmp_path / "laptop"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    run(python, "-m", "pip", "install", "--no-index", "--find-links", wheelhouse, "-e", ".", env=NO_NETWORK)
    out = run(python, "-c", "import cvlearn, torch, torchvision; from cvlearn import data; print(len(data.names()))")
    assert int(out.strip()) >= 5
    # what `make lab` and `make test` install comes from the same folder
    offline = ("--no-index", "--find-links", wheelhouse)
    run(python, "-m", "pip", "install", "--dry-run", *offline, "-e", ".[dev]", env=NO_NETWORK)
