"""Where the datasets go: the course's ``datasets/``, ``$CVLEARN_DATA``, or, when the course folder is
read-only (a course installed for everyone, a JupyterHub image), the per-user cache folder.

The decisive test runs on a really read-only copy of a course folder. Root ignores permission
bits, so as root the check runs in a child process that drops to an unprivileged user id
(after its imports: this machine's Python may live where that user cannot read).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cvlearn import checkup, data
from cvlearn.data import cache, download

NOBODY = 65534
"""The conventional unprivileged user and group id (``nobody``/``nogroup``)."""

# Runs in the child, in COURSE/notebooks, as an unprivileged user; prints one JSON line of facts.
CHILD = r"""
import json, os, sys
from pathlib import Path
import encodings.cp437, platformdirs, zipfile, PIL.ImageFile  # before demoting: the venv may be unreadable after
from cvlearn import checkup, data, download
if sys.argv[1] == "demote":
    try:
        os.setgroups([])
        os.setgid(int(sys.argv[2]))
        os.setuid(int(sys.argv[2]))
    except PermissionError:
        sys.exit("DEMOTION FAILED")
facts = {"uid": os.getuid() if hasattr(os, "getuid") else None}
chosen = data.data_folder()
facts["folder"], facts["read_only"] = str(chosen.path), chosen.read_only
data.load("toy-fruit", "val", n=3, progress=False)
data.load("toy-pets", "val", n=3, progress=False)
data.default_root()
facts["penn_fudan"] = str(download.folder("penn-fudan"))
facts["penn_fudan_complete"] = download.is_complete("penn-fudan")
check = checkup.check_data_folder()
facts["check"] = [check.status, check.detail]
print("FACTS " + json.dumps(facts))
"""


def _make_course(base: Path) -> Path:
    """A minimal course folder: ``datasets/`` holding a built toy split and a complete (empty)
    Penn-Fudan copy, and ``notebooks/``."""
    course = base / "course"
    (course / "notebooks").mkdir(parents=True)
    datasets = course / "datasets"
    data.load("toy-pets", "val", root=datasets, n=3, progress=False)
    for required in download.SOURCES["penn-fudan"].required:
        (datasets / "penn-fudan" / required).mkdir(parents=True)
    return course


def _make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | (0o111 if path.is_dir() else 0))


def _make_writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)


@pytest.fixture
def shared_tmp():
    """A temp folder every user can enter (pytest's own is private to the user running it)."""
    folder = Path(tempfile.mkdtemp(prefix="cvlearn-readonly-"))
    folder.chmod(0o755)
    yield folder
    _make_writable(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _demotion() -> list[str]:
    """The child's arguments: demote to ``nobody`` as root, else nothing to do."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ["demote", str(NOBODY)]
    return ["stay"]


def test_read_only_course_folder_caches_in_the_user_cache(shared_tmp):
    course = _make_course(shared_tmp)
    home = shared_tmp / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    _make_read_only(course)
    mode = _demotion()
    if mode == ["stay"] and data.is_writable(course / "datasets"):
        pytest.skip("chmod does not make a folder read-only here (Windows, or an unusual file system)")
    env = {k: v for k, v in os.environ.items() if k not in (data.DATA_ENV, "XDG_CACHE_HOME")}
    env.update(HOME=str(home), USERPROFILE=str(home), LOCALAPPDATA=str(home / "AppData" / "Local"))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *mode],
        cwd=course / "notebooks",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    if "DEMOTION FAILED" in proc.stdout:
        pytest.skip("cannot drop to an unprivileged user here (no CAP_SETUID), and root ignores chmod")
    assert proc.returncode == 0, proc.stdout[-3000:]
    facts = json.loads(proc.stdout.split("FACTS ", 1)[1])
    if mode[0] == "demote":
        assert facts["uid"] == NOBODY
    cache = Path(facts["folder"])
    assert facts["read_only"] and cache.is_relative_to(home), facts
    assert list((cache / "toy-fruit").glob("*/val-3.npz")), "toy-fruit was not cached in the user cache folder"
    assert not (cache / "toy-pets").exists(), "the valid toy-pets cache in the course folder was rendered again"
    assert Path(facts["penn_fudan"]) == (course / "datasets" / "penn-fudan").resolve()
    assert facts["penn_fudan_complete"]
    status, detail = facts["check"]
    assert status == "ok" and "read-only" in detail and detail.startswith("~") and "cvlearn" in detail, detail
    assert str(shared_tmp) not in detail, f"doctor printed a machine path: {detail}"
    notices = [line for line in proc.stdout.splitlines() if line.startswith("cvlearn: the course's datasets")]
    assert len(notices) == 1, proc.stdout


@pytest.fixture
def fresh_decisions(monkeypatch, tmp_path):
    """A course folder in ``tmp_path``, run from its ``notebooks/``, with no decision remembered."""
    (tmp_path / "datasets").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_decided", {})
    monkeypatch.setattr(cache, "_announced", set())
    return tmp_path


def test_writable_course_folder_is_the_data_folder(fresh_decisions, capsys):
    chosen = data.data_folder()
    assert chosen.path == (fresh_decisions / "datasets").resolve() and not chosen.read_only
    assert data.readable_roots() == [chosen.path]
    assert capsys.readouterr().out == ""


def test_unwritable_course_folder_falls_back_and_says_so_once(fresh_decisions, monkeypatch, capsys):
    course_datasets = (fresh_decisions / "datasets").resolve()
    monkeypatch.setattr(cache, "is_writable", lambda folder: Path(folder).resolve() != course_datasets)
    for _ in range(3):
        assert data.default_root() == data.user_cache_folder()
    assert data.readable_roots() == [data.user_cache_folder(), course_datasets]
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "read-only" in out and data.DATA_ENV in out, out


def test_cvlearn_data_wins_over_everything(fresh_decisions, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(fresh_decisions / "mine"))
    monkeypatch.setattr(cache, "is_writable", lambda folder: False)
    assert data.default_root() == fresh_decisions / "mine"
    assert data.readable_roots() == [fresh_decisions / "mine"]


def test_is_writable_really_tries(tmp_path):
    assert data.is_writable(tmp_path)
    assert list(tmp_path.iterdir()) == [], "the write test left a file behind"
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert not data.is_writable(blocker)


def test_display_path_names_no_machine_folders(fresh_decisions, monkeypatch, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    assert data.display_path(fresh_decisions / "datasets" / "toy-pets") == str(Path("datasets", "toy-pets"))
    assert data.display_path(home / ".cache" / "cvlearn") == str(Path("~", ".cache", "cvlearn"))


def test_doctor_says_which_folder_and_why(fresh_decisions):
    check = checkup.check_data_folder()
    assert check.status == "ok" and check.detail.startswith("datasets (the course's datasets folder)"), check.detail


def test_default_root_finds_the_course_folder(tmp_path, monkeypatch):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path / "notebooks")
    assert data.default_root() == (tmp_path / "datasets").resolve()
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "elsewhere"))
    assert data.default_root() == tmp_path / "elsewhere"
