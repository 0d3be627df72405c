"""cvlearn.plot: figures that teach: fixed colours, green means right, outlined boxes, captions
that never overlap."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.lines import Line2D

from cvlearn import plot
from cvlearn.metrics.detection import detection_outcomes
from cvlearn.plot import show_box_anatomy, show_localisations
from cvlearn.train import History
from cvlearn.widgets.detection import threshold_picture
from tests.detection_case import CANDIDATES, CLASSES, TARGET
from tests.segmentation_case import IMAGE, PALETTE, PREDICTION, TRUTH


def test_five_tasks_draws_five_panels(small):
    ds = small("toy-fruit", "val", n=4)
    image, target = ds[0]
    fig = plot.five_tasks(image, target, ds)
    assert len(fig.axes) == 5
    assert "classification" in fig.axes[0].get_title()
    plt.close(fig)


def test_instance_names_count_per_class():
    assert plot.instance_names(torch.tensor([1, 1, 2, 1]), ["background", "pen", "cap"]) == [
        "pen 1",
        "pen 2",
        "cap 1",
        "pen 3",
    ]


def test_overlay_blends_only_visible_classes():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    sem = np.array([[0, 1], [1, 0]])
    palette = np.array([[0, 0, 0], [200, 0, 0]], dtype=np.uint8)
    out = plot.overlay(image, sem, palette, alpha=0.5, visible=[1])
    assert out[0, 0].tolist() == [100, 100, 100] and out[0, 1].tolist() == [150, 50, 50]
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        plot.overlay(image, sem, palette, alpha=2)


def test_plot_history_has_loss_and_metric_panels():
    h = History(
        epochs=[
            {
                "epoch": 1,
                "train_loss": 1.0,
                "val_loss": 1.2,
                "train_accuracy": 0.5,
                "val_accuracy": 0.4,
                "seconds": 1.0,
            },
            {
                "epoch": 2,
                "train_loss": 0.5,
                "val_loss": 0.6,
                "train_accuracy": 0.8,
                "val_accuracy": 0.7,
                "seconds": 1.0,
            },
        ],
        step_losses=[1.0, 0.8, 0.6, 0.5],
    )
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
    return [
        (a, b)
        for i, a in enumerate(extents)
        for b in extents[i + 1 :]
        if a.x0 < b.x1 - slack and b.x0 < a.x1 - slack and a.y0 < b.y1 - slack and b.y0 < a.y1 - slack
    ]


def test_plot_history_gives_each_split_one_colour_in_every_panel():
    from matplotlib.colors import to_rgba

    h = History(
        epochs=[
            {
                "epoch": e,
                "train_loss": 1.0 / e,
                "val_loss": 1.2 / e,
                "train_accuracy": 0.5 + e / 10,
                "val_accuracy": 0.4 + e / 10,
                "train_iou": 0.3,
                "val_iou": 0.2,
                "seconds": 1.0,
            }
            for e in (1, 2)
        ],
        step_losses=[1.0, 0.8, 0.6, 0.5],
    )
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
    h = History(
        epochs=[
            {"epoch": 1, "train_loss": 1.0, "seconds": 1.0},
            {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7, "seconds": 1.0},
        ]
    )
    fig = plot.plot_history(h)
    val = next(line for line in fig.axes[0].lines if line.get_label() == "val")
    assert list(val.get_xdata()) == [2]
    plt.close(fig)


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
    boxes = torch.tensor(
        [
            [20.0, 30.0, 50.0, 60.0],
            [21.0, 30.0, 51.0, 61.0],
            [20.0, 31.0, 50.0, 60.0],
            [0.0, 0.0, 30.0, 20.0],
            [1.0, 0.0, 30.0, 21.0],
        ]
    )  # the last two at the top edge
    plot.draw_boxes(
        ax,
        boxes,
        torch.tensor([1, 1, 2, 1, 2]),
        torch.tensor([0.9, 0.2, 0.5, 0.7, 0.6]),
        ["background", "apple", "orange"],
    )
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
    masks[0, 18:22, 2:38] = True  # two crossing pens and a third beside the crossing, with nearly one centre
    masks[1, 2:38, 18:22] = True
    masks[2, 19:21, 16:24] = True
    fig = plot.show_instances(
        torch.zeros(3, 40, 40, dtype=torch.uint8),
        masks,
        torch.tensor([1, 1, 1]),
        ["background", "pen"],
        scores=torch.tensor([0.9, 0.8, 0.3]),
    )
    ax = fig.axes[0]
    assert len(ax.collections) == 3  # one outline per instance
    assert ax.get_xlim() == (-0.5, 39.5)  # the outlines leave the picture's frame alone
    fig.canvas.draw()
    assert not _overlapping(_caption_extents(ax))
    plt.close(fig)
    fig = plot.show_instances(
        torch.zeros(3, 40, 40, dtype=torch.uint8), masks, torch.tensor([1, 1, 1]), ["background", "pen"], outlines=False
    )
    assert len(fig.axes[0].collections) == 0
    plt.close(fig)


def test_show_localisations_draws_a_true_and_a_predicted_box_per_picture():
    images = torch.zeros(3, 3, 16, 16, dtype=torch.uint8)
    true = torch.tensor([[1.0, 1.0, 8.0, 8.0]]).repeat(3, 1)
    pred = true + 2
    fig = show_localisations(images, true, pred, titles=["a", "b", "c"])
    drawn = [ax for ax in fig.axes if ax.patches]
    assert len(drawn) == 3 and all(len(ax.patches) == 2 for ax in drawn)
    assert drawn[0].patches[1].get_linestyle() == "--"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["true box", "predicted box"]  # a key to the two
    with pytest.raises(ValueError, match="one true and one predicted box per image"):
        show_localisations(images, true[:2], pred)
    plt.close("all")


def test_show_localisations_without_predictions_draws_the_true_boxes_only():
    fig = show_localisations(torch.zeros(2, 3, 16, 16, dtype=torch.uint8), torch.tensor([[1.0, 1.0, 8.0, 8.0]] * 2))
    assert [len(ax.patches) for ax in fig.axes] == [1, 1]
    assert not fig.legends  # nothing to tell apart
    plt.close(fig)


def test_box_anatomy_names_all_three_formats():
    fig = show_box_anatomy(torch.zeros(3, 64, 64, dtype=torch.uint8), torch.tensor([10.0, 20.0, 40.0, 30.0]))
    title = fig.axes[0].get_title()
    assert "XYXY (10, 20, 40, 30)" in title and "XYWH (10, 20, 30, 10)" in title and "CXCYWH (25, 25, 30, 10)" in title
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "w = 30" in texts and "h = 10" in texts
    with pytest.raises(ValueError, match="x2 >= x1"):
        show_box_anatomy(torch.zeros(3, 8, 8), [5, 0, 1, 4])
    plt.close("all")


def test_detection_plots():
    image = torch.zeros(3, 96, 96, dtype=torch.uint8)
    outcomes, missed = detection_outcomes(CANDIDATES, TARGET)
    fig = plot.show_detection_outcomes(image, CANDIDATES, TARGET, outcomes, missed, CLASSES)
    assert len(fig.axes[0].patches) == 5 + 2
    fig = plot.show_grid(image, 8, points=torch.rand(10, 2) * 96, anchors=TARGET["boxes"])
    assert len(fig.axes[0].patches) == 3
    fig = plot.plot_precision_recall([(np.array([1.0, 0.5]), np.array([0.5, 0.5]))], ["apple"], [np.ones(101)])
    assert fig.axes[0].get_xlabel() == "recall"
    assert len(fig.axes[0].collections) == 1  # one curve: its envelope shaded
    plt.close("all")


def test_outcome_figures_carry_a_key_to_their_colours():
    image = torch.zeros(3, 96, 96, dtype=torch.uint8)
    outcomes, missed = detection_outcomes(CANDIDATES, TARGET)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    for ax in axes:
        plot.show_detection_outcomes(image, CANDIDATES, TARGET, outcomes, missed, CLASSES, ax=ax)
    assert len(fig.legends) == 1  # one key for the whole figure, however many panels
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names[0].startswith("correct") and any(n.startswith("missed") for n in names)
    colours = [h.get_edgecolor() for h in fig.legends[0].legend_handles]
    from matplotlib.colors import to_rgba

    assert colours[0] == to_rgba(plot.OUTCOME_COLOURS["correct"])
    plt.close(fig)
    _, fig = threshold_picture(image, CANDIDATES, TARGET, 0.5, 0.5, CLASSES)  # the explorer's picture too
    assert len(fig.legends) == 1
    plt.close(fig)
    fig = plot.show_detection_outcomes(image, CANDIDATES, TARGET, outcomes, missed, CLASSES, legend=False)
    assert not fig.legends
    plt.close(fig)


def test_outcome_captions_of_duplicates_never_overlap():
    image = torch.zeros(3, 96, 96, dtype=torch.uint8)
    outcomes, missed = detection_outcomes(CANDIDATES, TARGET)
    fig = plot.show_detection_outcomes(image, CANDIDATES, TARGET, outcomes, missed, CLASSES)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == 5 + 2  # a caption per detection and per missed box
    assert not any(
        a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
    )
    plt.close(fig)


def test_precision_recall_of_two_curves_near_one_zooms_and_does_not_merge_shading():
    recall = np.linspace(0, 0.98, 50)
    curves = [(np.where(recall < 0.95, 1.0, 0.97), recall), (np.ones(50), recall)]
    steps = np.linspace(0, 1, 101)
    envelopes = [np.where(steps <= 0.98, np.where(steps < 0.95, 1.0, 0.97), 0.0), np.where(steps <= 0.98, 1.0, 0.0)]
    fig, ax = plt.subplots()
    plot.plot_precision_recall(curves, ["apple", "orange"], envelopes, ax=ax, zoom=True)
    assert len(ax.collections) == 0  # no shading: two shaded areas would merge into one
    steps_drawn = [line for line in ax.lines if line.get_drawstyle() == "steps-post"]
    assert len(steps_drawn) == 2 and not np.allclose(steps_drawn[0].get_color(), steps_drawn[1].get_color())
    (inset,) = ax.child_axes
    assert inset.get_ylim() == (0.9, 1.004) and inset.get_xlim()[0] == 0.8  # the high-precision corner
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["apple", "orange"]
    plt.close(fig)
    fig = plot.plot_precision_recall(curves, ["apple", "orange"], envelopes, zoom=(0.5, 1.0, 0.95, 1.0))
    assert fig.axes[0].child_axes[0].get_xlim() == (0.5, 1.0)
    plt.close(fig)


def test_error_overlay_and_result_figures():
    tinted = plot.error_overlay(IMAGE, TRUTH, PREDICTION, alpha=1.0, ignore_index=None)
    assert (tinted[:, 1] == plot.ERROR_COLOUR).all() and (tinted[:, 0] == 100).all()
    ignored = plot.error_overlay(IMAGE, np.where(TRUTH == 0, 9, TRUTH), PREDICTION, alpha=1.0, ignore_index=9)
    assert (ignored == 100).all()
    fig = plot.show_segmentation_results([IMAGE] * 2, [TRUTH] * 2, [PREDICTION] * 2, ["a", "b", "c"], PALETTE)
    assert len(fig.axes) == 8
    assert [ax.get_title() for ax in fig.axes[:4]] == ["image", "ground truth", "prediction", "errors (red)"]
    dividers = [a for a in fig.artists if isinstance(a, Line2D)]
    assert len(dividers) == 3  # a divider between each column and the next, in the gap between them
    truth_column, prediction_column = fig.axes[1].get_position(), fig.axes[2].get_position()
    x = dividers[1].get_xdata()[0]
    assert truth_column.x1 < x < prediction_column.x0
    plt.close(fig)
    void = np.where(np.arange(5) == 1, 255, TRUTH)
    fig = plot.show_segmentation_results([IMAGE], [void], [PREDICTION], ["a", "b", "c"], PALETTE, ignore_index=255)
    assert fig.axes[3].texts[0].get_text() == "0.0% wrong"
    plt.close(fig)
    fig = plot.show_grids([np.eye(2), np.ones((3, 3))], ["a", "b"])
    assert len(fig.axes) == 2
    plt.close(fig)


def test_dividers_run_between_rows_and_between_columns():
    fig, axes = plt.subplots(2, 3)
    rows = plot.add_dividers(fig, rows=[axes[0], axes[1]])
    (line,) = rows
    y = line.get_ydata()[0]
    assert axes[1, 0].get_position().y1 < y < axes[0, 0].get_position().y0
    assert line.get_xdata()[0] == axes[0, 0].get_position().x0 and line in fig.artists
    columns = plot.add_dividers(fig, columns=[axes[:, 0], axes[:, 1], axes[:, 2]])
    assert len(columns) == 2 and all(c.get_xdata()[0] == c.get_xdata()[1] for c in columns)
    plt.close(fig)


def test_show_roi_align_and_mask_paste_draw():
    image = torch.zeros(3, 32, 32, dtype=torch.uint8)
    fig = plot.show_roi_align(image, torch.tensor([4.0, 6.0, 20.0, 12.0]), torch.rand(8, 7, 7), stride=4)
    assert len(fig.axes) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(S, S\) or \(C, S, S\)"):
        plot.show_roi_align(image, torch.tensor([4.0, 6.0, 20.0, 12.0]), torch.rand(7, 5), stride=4)
    fig = plot.show_mask_paste(image, torch.tensor([4.0, 6.0, 20.0, 12.0]), torch.rand(28, 28), torch.rand(32, 32))
    assert len(fig.axes) == 3
    plt.close(fig)
