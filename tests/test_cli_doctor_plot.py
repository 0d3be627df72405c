import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from cvlearn import checkup, cli, plot
from cvlearn.train import History


def test_cli_build_verify_export(tmp_path, capsys, monkeypatch):
    from cvlearn import data
    monkeypatch.setitem(data.SPECS, "toy-pens", data.SPECS["toy-pens"].__class__(
        **{**data.SPECS["toy-pens"].__dict__, "splits": {"train": 3, "val": 2, "test": 2}}))
    assert cli.main(["data", "build", "toy-pens", "--root", str(tmp_path)]) == 0
    assert cli.main(["data", "verify", "toy-pens", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok ") >= 6
    assert cli.main(["data", "export", "toy-pens", "--root", str(tmp_path), "--split", "val",
                     "--out", str(tmp_path / "export")]) == 0
    assert (tmp_path / "export" / "val" / "annotations.json").exists()


def test_cli_reports_unknown_dataset_in_one_line(capsys):
    assert cli.main(["data", "build", "toy-unicorns"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset name 'toy-unicorns'" in err and err.count("\n") == 1


def test_cli_verify_without_cache_says_how_to_build(tmp_path, capsys):
    assert cli.main(["data", "verify", "toy-fruit", "--root", str(tmp_path)]) == 1
    assert "cvlearn data build toy-fruit" in capsys.readouterr().out


def test_doctor_checks_each_part(tmp_path, capsys):
    checks = checkup.run_checks(root=tmp_path, network=False)
    assert [c.name for c in checks] == ["python", "torch", "torchvision", "packages", "device", "data folder"]
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


def test_network_check_never_fails_the_course():
    check = checkup.check_network(timeout=0.5)
    assert check.status in ("ok", "warn")
    assert checkup.network_reachable(("unreachable.invalid", 443), timeout=0.5) is False


def test_doctor_prints_one_line_per_check(tmp_path, capsys):
    checkup.doctor(root=tmp_path, network=False)
    out = capsys.readouterr().out
    assert "✓ python" in out and "all set" in out


def test_five_tasks_draws_five_panels(small):
    ds = small("toy-fruit", "val", n=4)
    image, target = ds[0]
    fig = plot.five_tasks(image, target, ds)
    assert len(fig.axes) == 5
    assert "classification" in fig.axes[0].get_title()
    plt.close(fig)


def test_instance_names_count_per_class():
    assert plot.instance_names(torch.tensor([1, 1, 2, 1]), ["background", "pen", "cap"]) == \
        ["pen 1", "pen 2", "cap 1", "pen 3"]


def test_overlay_blends_only_visible_classes():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    sem = np.array([[0, 1], [1, 0]])
    palette = np.array([[0, 0, 0], [200, 0, 0]], dtype=np.uint8)
    out = plot.overlay(image, sem, palette, alpha=0.5, visible=[1])
    assert out[0, 0].tolist() == [100, 100, 100] and out[0, 1].tolist() == [150, 50, 50]
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        plot.overlay(image, sem, palette, alpha=2)


def test_plot_history_has_loss_and_metric_panels():
    h = History(epochs=[{"epoch": 1, "train_loss": 1.0, "val_loss": 1.2, "train_accuracy": 0.5,
                         "val_accuracy": 0.4, "seconds": 1.0},
                        {"epoch": 2, "train_loss": 0.5, "val_loss": 0.6, "train_accuracy": 0.8,
                         "val_accuracy": 0.7, "seconds": 1.0}], step_losses=[1.0, 0.8, 0.6, 0.5])
    fig = plot.plot_history(h)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    plt.close(fig)


def test_show_images_and_boxes(small):
    ds = small("toy-pets", "val", n=12)
    fig = plot.show_images(ds.images[:5], titles=[str(i) for i in range(5)], ncols=3)
    assert len(fig.axes) == 6
    image, target = ds[0]
    fig2 = plot.show_boxes(image, target["boxes"], target["labels"], torch.tensor([0.9]), ds.categories)
    assert len(fig2.axes[0].patches) == 1
    plt.close("all")


def test_as_numpy_image_accepts_float_tensors():
    img = plot.as_numpy_image(torch.ones(3, 4, 5) * 0.5)
    assert img.shape == (4, 5, 3) and img.dtype == np.uint8 and img[0, 0, 0] == 127
