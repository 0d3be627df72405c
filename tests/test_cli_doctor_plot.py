import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from cvlearn import checkup, cli, plot, system
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
    assert [c.name for c in checks] == ["python", "torch", "torchvision", "packages", "device", "data folder",
                                            "datasets"]
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
    assert system.network_reachable(("unreachable.invalid", 443), timeout=0.5) is False


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


# --------------------------------------------------------------------------------------------
# Figures that teach: fixed colours, green means right, outlined boxes, captions that never overlap
# --------------------------------------------------------------------------------------------


def _caption_extents(ax):
    """The drawn extents (pixels) of every caption on ``ax``, its coloured box included."""
    renderer = ax.figure.canvas.get_renderer()
    extents = []
    for text in ax.texts:
        extent = text.get_window_extent(renderer)
        if text.get_bbox_patch() is not None:
            extent = extent.union([extent, text.get_bbox_patch().get_window_extent(renderer)])
        extents.append(extent)
    return extents


def _overlapping(extents, slack=0.5):
    return [(a, b) for i, a in enumerate(extents) for b in extents[i + 1:]
            if a.x0 < b.x1 - slack and b.x0 < a.x1 - slack and a.y0 < b.y1 - slack and b.y0 < a.y1 - slack]


def test_plot_history_gives_each_split_one_colour_in_every_panel():
    from matplotlib.colors import to_rgba
    h = History(epochs=[{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e, "train_accuracy": 0.5 + e / 10,
                         "val_accuracy": 0.4 + e / 10, "train_iou": 0.3, "val_iou": 0.2, "seconds": 1.0}
                        for e in (1, 2)], step_losses=[1.0, 0.8, 0.6, 0.5])
    fig = plot.plot_history(h)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "iou"]
    for ax in fig.axes:
        colours = {line.get_label(): to_rgba(line.get_color()) for line in ax.lines}
        assert colours["train"] == to_rgba(plot.SPLIT_COLOURS["train"])
        assert colours["val"] == to_rgba(plot.SPLIT_COLOURS["val"])
        assert ax.get_legend() is not None and "val" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert plot.SPLIT_COLOURS["train"] != plot.SPLIT_COLOURS["val"]
    step = next(line for line in fig.axes[0].lines if "step" in line.get_label())
    assert to_rgba(step.get_color())[:3] == to_rgba(plot.SPLIT_COLOURS["train"])[:3]  # faint, but train's colour
    plt.close(fig)


def test_plot_history_puts_validation_of_some_epochs_at_those_epochs():
    h = History(epochs=[{"epoch": 1, "train_loss": 1.0, "seconds": 1.0},
                        {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7, "seconds": 1.0}])
    fig = plot.plot_history(h)
    val = next(line for line in fig.axes[0].lines if line.get_label() == "val")
    assert list(val.get_xdata()) == [2]
    plt.close(fig)


class _SaysCat(torch.nn.Module):
    """A classifier that answers "cat" (class 0) for every picture."""

    def __init__(self):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor([2.0, 0.0]))

    def forward(self, x):
        return self.logits.expand(len(x), 2)


def test_prediction_bars_are_green_only_for_a_correct_answer():
    from matplotlib.colors import to_rgba
    from cvlearn.widgets.classification import bar_colours, show_prediction
    image = torch.zeros(3, 16, 16, dtype=torch.uint8)
    for truth, expected in ((1, "tab:red"), (0, "tab:green")):
        fig = show_prediction(_SaysCat(), image, ("cat", "dog"), true_class=truth)
        bars = fig.axes[1].patches
        assert to_rgba(bars[0].get_facecolor()) == to_rgba(expected)  # the predicted class, "cat"
        assert to_rgba(bars[1].get_facecolor()) == to_rgba("tab:grey")
        assert ("(wrong)" if truth == 1 else "(right)") in fig.axes[1].get_title()
        plt.close(fig)
    assert bar_colours([0.2, 0.8], true_class=0) == ["tab:grey", "tab:red"]
    assert "tab:green" not in bar_colours([0.2, 0.8])  # no truth given: green would claim it is right


def test_boxes_keep_their_colour_over_a_contrasting_outline():
    from matplotlib.colors import to_rgba
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((32, 32, 3), dtype=np.uint8))
    red, lime = (1.0, 0.0, 0.0), "lime"
    plot.draw_boxes(ax, [[2, 2, 10, 10], [12, 12, 20, 20]], colours=[red, lime])
    assert [to_rgba(p.get_edgecolor()) for p in ax.patches] == [to_rgba(red), to_rgba(lime)]
    strokes = [p.get_path_effects()[0] for p in ax.patches]
    assert [s._gc["foreground"] for s in strokes] == ["white", "black"]  # dark box: white rim; light box: black
    assert all(s._gc["linewidth"] > ax.patches[0].get_linewidth() for s in strokes)
    plot.draw_boxes(ax, [[2, 2, 10, 10]], outline=False)
    assert ax.patches[-1].get_path_effects() == []
    plt.close(fig)


def test_detection_boxes_take_their_class_colour_from_the_palette(small):
    from matplotlib.colors import to_rgba
    ds = small("toy-fruit", "val", n=4)
    image, target = ds[0]
    table = plot.class_colours(ds)
    apple = ds.semantic_classes.index("apple")
    assert np.allclose(table[ds.categories.index("apple")], np.asarray(ds.palette[apple]) / 255)
    fig = plot.five_tasks(image, target, ds)
    detection = fig.axes[2]
    for patch, label in zip(detection.patches, target["labels"].tolist()):
        assert to_rgba(patch.get_edgecolor()) == to_rgba(tuple(table[label]))
    plt.close(fig)


def test_captions_of_nearly_identical_boxes_never_overlap():
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(np.zeros((96, 96, 3), dtype=np.uint8))
    boxes = torch.tensor([[20.0, 30.0, 50.0, 60.0], [21.0, 30.0, 51.0, 61.0], [20.0, 31.0, 50.0, 60.0],
                          [0.0, 0.0, 30.0, 20.0], [1.0, 0.0, 30.0, 21.0]])  # the last two at the top edge
    plot.draw_boxes(ax, boxes, torch.tensor([1, 1, 2, 1, 2]), torch.tensor([0.9, 0.2, 0.5, 0.7, 0.6]),
                    ["background", "apple", "orange"])
    plot.draw_boxes(ax, boxes[:1] + 2, torch.tensor([2]), None, ["background", "apple", "orange"])  # a second call
    fig.tight_layout()  # captions are placed at draw time, after any layout change
    fig.canvas.draw()
    extents = _caption_extents(ax)
    assert len(extents) == 6 and not _overlapping(extents)
    first = extents[0]  # the best-scored caption keeps the first choice: just above its box
    x, y = ax.transData.transform((19.5, 29.5))
    assert abs(first.x0 - x) < 2 and abs(first.y0 - y) < 2
    fig.set_size_inches(5, 5)  # a new size: the captions move with the boxes and still keep apart
    fig.canvas.draw()
    assert not _overlapping(_caption_extents(ax))
    plt.close(fig)


def test_instances_get_outlines_and_captions_apart():
    masks = torch.zeros(3, 40, 40, dtype=torch.bool)
    masks[0, 18:22, 2:38] = True   # two crossing pens and a third beside the crossing, with nearly one centre
    masks[1, 2:38, 18:22] = True
    masks[2, 19:21, 16:24] = True
    fig = plot.show_instances(torch.zeros(3, 40, 40, dtype=torch.uint8), masks, torch.tensor([1, 1, 1]),
                              ["background", "pen"], scores=torch.tensor([0.9, 0.8, 0.3]))
    ax = fig.axes[0]
    assert len(ax.collections) == 3  # one outline per instance
    assert ax.get_xlim() == (-0.5, 39.5)  # the outlines leave the picture's frame alone
    fig.canvas.draw()
    assert not _overlapping(_caption_extents(ax))
    plt.close(fig)
    fig = plot.show_instances(torch.zeros(3, 40, 40, dtype=torch.uint8), masks, torch.tensor([1, 1, 1]),
                              ["background", "pen"], outlines=False)
    assert len(fig.axes[0].collections) == 0
    plt.close(fig)
