"""tests/other_pythons.py: finding each supported Python, reusing its environment, one line per miss."""

import hashlib
import platform
import re
import sys

import pytest

from tests import other_pythons
from tests.other_pythons import Interpreter

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="stands in for a Python with a shell script")
HERE = "{}.{}".format(*sys.version_info[:2])


@pytest.fixture
def bare_machine(tmp_path, monkeypatch):
    """No Python on PATH, no pyenv and no uv: only what a test puts under ``tmp_path``."""
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def _script(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_oldest_supported_python_is_the_one_pyproject_requires():
    project = tomllib.loads((other_pythons.ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={other_pythons.SUPPORTED[0]}"
    assert (
        tuple(sorted(other_pythons.SUPPORTED, key=lambda v: tuple(map(int, v.split("."))))) == other_pythons.SUPPORTED
    )


@POSIX_ONLY
def test_finds_a_pyenv_python_behind_a_shim_that_does_not_run(bare_machine):
    # a pyenv shim is on PATH for every installed version, but runs only the selected ones
    _script(bare_machine / "bin" / f"python{HERE}", "echo 'pyenv: version not selected' >&2; exit 127")
    _script(
        bare_machine / "pyenv" / "versions" / f"{HERE}.99" / "bin" / f"python{HERE}", f'exec "{sys.executable}" "$@"'
    )
    found = other_pythons.find_python(HERE)
    assert found is not None and found.version == platform.python_version()
    assert other_pythons.find_python("3.99") is None


def test_a_missing_python_gets_one_line_and_does_not_fail(bare_machine, capsys):
    assert other_pythons.main(["3.98", "3.99"], cache=bare_machine / "cache") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if "3.98" in line and "not found" in line] == [lines[0]]
    assert lines[-1] == "pythons: none of 3.98, 3.99 is on this machine; nothing was run"
    assert not (bare_machine / "cache").exists()


def test_summary_is_the_plain_closing_line():
    line = other_pythons.summary({"3.10": True, "3.11": False, "3.13": None})
    assert line == "pythons: 1 passed, 1 failed, 1 skipped"
    assert re.fullmatch(r"\w+: \d+ passed, \d+ failed, \d+ skipped", line)


def test_stamp_names_pyproject_course_folder_and_python():
    older, newer = (other_pythons.stamp(Interpreter("python3.10", v)) for v in ("3.10.13", "3.10.14"))
    assert older != newer
    assert hashlib.sha256((other_pythons.ROOT / "pyproject.toml").read_bytes()).hexdigest() in older
    assert str(other_pythons.ROOT) in older


def test_an_environment_with_a_matching_stamp_is_reused(tmp_path, monkeypatch, capsys):
    interpreter = Interpreter(sys.executable, platform.python_version())
    venv = tmp_path / "venv-py"
    other_pythons.venv_python(venv).parent.mkdir(parents=True)
    other_pythons.venv_python(venv).touch()
    (venv / "cvlearn-stamp.txt").write_text(other_pythons.stamp(interpreter), encoding="utf-8")

    def no_install(*args, **kwargs):
        raise AssertionError(f"reinstalled: {args}")

    monkeypatch.setattr(other_pythons.subprocess, "run", no_install)
    assert other_pythons.prepare(interpreter, venv)
    assert "up to date" in capsys.readouterr().out


def test_a_failed_install_fails_and_leaves_no_stamp(tmp_path, capsys):
    venv = tmp_path / "venv-py"
    assert not other_pythons.prepare(Interpreter(str(tmp_path / "gone" / "python"), "3.99.0"), venv)
    assert not (venv / "cvlearn-stamp.txt").exists()
    out = capsys.readouterr().out
    assert "failed:" in out and str(tmp_path / "venv-py-install.log") in out
