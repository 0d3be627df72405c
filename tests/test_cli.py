"""cvlearn.cli: the dataset commands and their one-line errors."""

import argparse

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


def test_cli_export_formats_are_the_formats_module_s(tmp_path, capsys):
    from cvlearn import formats

    subcommands = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    data_help = " ".join(subcommands.choices["data"].format_help().split())
    assert all(name in data_help for name in formats.FORMATS)
    code = cli.main(["data", "export", "toy-pens", "--format", "png", "--root", str(tmp_path)])
    assert code == 2 and "--format must be one of" in capsys.readouterr().err
