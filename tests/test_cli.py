"""cvlearn.cli: the dataset commands and their one-line errors."""

from cvlearn import cli


def test_cli_build_verify_export(tmp_path, capsys, monkeypatch):
    from cvlearn import data

    monkeypatch.setitem(
        data.SPECS,
        "toy-pens",
        data.SPECS["toy-pens"].__class__(
            **{**data.SPECS["toy-pens"].__dict__, "splits": {"train": 3, "val": 2, "test": 2}}
        ),
    )
    assert cli.main(["data", "build", "toy-pens", "--root", str(tmp_path)]) == 0
    assert cli.main(["data", "verify", "toy-pens", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok ") >= 6
    assert (
        cli.main(
            ["data", "export", "toy-pens", "--root", str(tmp_path), "--split", "val", "--out", str(tmp_path / "export")]
        )
        == 0
    )
    assert (tmp_path / "export" / "val" / "annotations.json").exists()


def test_cli_reports_unknown_dataset_in_one_line(capsys):
    assert cli.main(["data", "build", "toy-unicorns"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset name 'toy-unicorns'" in err and err.count("\n") == 1


def test_cli_verify_without_cache_says_how_to_build(tmp_path, capsys):
    assert cli.main(["data", "verify", "toy-fruit", "--root", str(tmp_path)]) == 1
    assert "cvlearn data build toy-fruit" in capsys.readouterr().out
