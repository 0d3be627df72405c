"""cvlearn.checkup (``cvlearn doctor``): one line per check, a named fix for each problem, and never a
failure for being offline."""

import socket

import pytest

from cvlearn import checkup, system


def test_doctor_checks_each_part(tmp_path, capsys):
    checks = checkup.run_checks(root=tmp_path, network=False)
    assert [c.name for c in checks] == [
        "python",
        "torch",
        "torchvision",
        "packages",
        "device",
        "data folder",
        "datasets",
    ]
    assert all(c.status == "ok" for c in checks), [str(c) for c in checks]


def test_doctor_names_a_fix_for_an_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    check = checkup.check_data_folder(blocker / "datasets")
    assert check.status == "fail" and "writable" in check.detail and check.fix


def test_doctor_marks_fall_back_to_ascii_where_the_console_lacks_them():
    import io

    assert checkup.symbols_for(io.TextIOWrapper(io.BytesIO(), encoding="cp1252")) == checkup.ASCII_SYMBOLS
    assert checkup.symbols_for(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")) == checkup.SYMBOLS
    check = checkup.Check("python", "fail", "3.8", "install Python 3.10 or newer")
    assert check.line(checkup.ASCII_SYMBOLS).startswith("x  python ") and "fix: install" in str(check)


@pytest.mark.parametrize("reachable, status", [(True, "ok"), (False, "warn")])
def test_network_check_warns_offline_and_never_fails(reachable, status, monkeypatch):
    monkeypatch.setattr(system, "network_reachable", lambda host, timeout: reachable)
    check = checkup.check_network(timeout=0.5)
    assert check.status == status
    # offline is fine for the course: a warning that says so, never a failure
    assert ("offline" in check.detail) is not reachable
    assert check.fix == "" if reachable else check.fix.startswith("nothing to do for the course")


def test_network_reachable_opens_a_real_connection():
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert system.network_reachable(server.getsockname(), timeout=5.0) is True
    assert system.network_reachable(("unreachable.invalid", 443), timeout=0.5) is False


def test_doctor_prints_one_line_per_check(tmp_path, capsys):
    checkup.doctor(root=tmp_path, network=False)
    out = capsys.readouterr().out
    assert "✓ python" in out and "all set" in out
