"""Semantic segmentation: the explorer's pure functions, the new plots, and the exercise checkers
(each accepts the worked solution and rejects a wrong answer with a helpful message)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.lines import Line2D

from cvlearn import plot
from cvlearn.exercises.segmentation import check_class_weights, check_iou_from_confusion, check_transposed_conv
from cvlearn.widgets.segmentation import DIVIDER, VIEWS, enlarge, png_bytes, render_view, segmentation_explorer

PALETTE = np.array([[0, 0, 0], [0, 0, 255], [0, 255, 0]], dtype=np.uint8)
IMAGE = np.full((4, 5, 3), 100, dtype=np.uint8)
TRUTH = np.array([[0, 0, 1, 1, 2]] * 4)
PREDICTION = np.array([[0, 1, 1, 1, 2]] * 4)  # column 1 is wrong: class 1 instead of 0


def test_render_view_shapes_and_side_by_side_layout():
    for view in ("ground truth", "prediction", "errors"):
        assert render_view(IMAGE, TRUTH, PREDICTION, PALETTE, view).shape == (4, 5, 3)
    both = render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "side by side", alpha=1.0, gap=3)
    assert both.shape == (4, 13, 3)
    assert (both[:, 5:8] == DIVIDER).all()  # a dark divider: the two pictures never run together
    white = render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "side by side", gap=1, divider=(255, 255, 255))
    assert white.shape == (4, 11, 3) and (white[:, 5] == 255).all()
    assert (both[:, :5] == PALETTE[TRUTH]).all() and (both[:, 8:] == PALETTE[PREDICTION]).all()


def test_opacity_and_class_toggles():
    assert (render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "ground truth", alpha=0.0) == IMAGE).all()
    only_grass = render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "ground truth", alpha=1.0, visible=[2])
    assert (only_grass[:, 4] == PALETTE[2]).all() and (only_grass[:, :4] == 100).all()
    half = render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "prediction", alpha=0.5)
    assert tuple(half[0, 4]) == (50, 178, 50)  # round(0.5 · 100 + 0.5 · 255) = 178 (rounds half to even)


def test_errors_view_tints_only_wrong_pixels_of_visible_classes():
    errors = render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "errors", alpha=1.0)
    assert (errors[:, 1] == plot.ERROR_COLOUR).all()
    assert (np.delete(errors, 1, axis=1) == 100).all()
    hidden = render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "errors", alpha=1.0, visible=[2])
    assert (hidden == 100).all()  # the mistake is between classes 0 and 1, both switched off


def test_errors_view_never_counts_unlabelled_pixels():
    void = np.where(np.arange(5) == 1, 255, TRUTH)  # the wrong column is an outline nobody labelled
    errors = render_view(IMAGE, void, PREDICTION, PALETTE, "errors", alpha=1.0, ignore_index=255)
    assert (errors == 100).all()
    assert (render_view(IMAGE, void, PREDICTION, PALETTE, "errors", alpha=1.0)[:, 1] == plot.ERROR_COLOUR).all()
    truth = render_view(IMAGE, void, PREDICTION, PALETTE, "ground truth", alpha=1.0, ignore_index=255)
    assert (truth[:, 1] == plot.VOID_COLOUR).all()


def test_render_view_rejects_bad_arguments():
    with pytest.raises(ValueError, match="view must be one of"):
        render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "overlay")
    with pytest.raises(ValueError, match="same"):
        render_view(IMAGE, TRUTH, PREDICTION[:, :3], PALETTE)
    with pytest.raises(ValueError, match="alpha"):
        render_view(IMAGE, TRUTH, PREDICTION, PALETTE, "prediction", alpha=1.5)


def test_enlarge_and_png_bytes():
    big = enlarge(IMAGE, 3)
    assert big.shape == (12, 15, 3) and (big[:3, :3] == IMAGE[0, 0]).all()
    assert png_bytes(big).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="factor"):
        enlarge(IMAGE, 0)


def test_explorer_redraws_when_a_control_changes():
    images = torch.randint(0, 256, (3, 3, 4, 5), dtype=torch.uint8)
    panel = segmentation_explorer(images, torch.from_numpy(np.stack([TRUTH] * 3)),
                                  torch.from_numpy(np.stack([PREDICTION] * 3)), ["a", "b", "c"], PALETTE, scale=2)
    (index, alpha), view, legend, picture, caption = panel.children[0].children, *panel.children[1:]
    assert list(view.options) == list(VIEWS)
    assert "left: <b>ground truth</b> | right: <b>prediction</b>" in caption.value  # side by side, named
    before = picture.value
    view.value = "errors"
    assert picture.value != before
    before = picture.value
    legend.children[0].children[1].value = False  # the error (a taken for b) still shows: b is on
    assert bytes(picture.value) == bytes(before)
    legend.children[1].children[1].value = False  # a and b both off: the error disappears
    assert bytes(picture.value) != bytes(before)
    with pytest.raises(ValueError, match="same number"):
        segmentation_explorer(images[:2], TRUTH[None], PREDICTION[None], ["a"], PALETTE)


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


# Worked solutions, the same as in notebook 04.

def transposed_conv_solution(x, kernel, stride):
    k = kernel.shape[0]
    out = torch.zeros((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i * stride:i * stride + k, j * stride:j * stride + k] += x[i, j] * kernel
    return out


def iou_solution(matrix):
    m = matrix.double()
    hits = m.diag()
    union = m.sum(0) + m.sum(1) - hits
    return torch.where(union > 0, hits / union, torch.tensor(float("nan"), dtype=torch.float64))


def weights_solution(masks, num_classes):
    counts = torch.bincount(masks.reshape(-1).long(), minlength=num_classes).double()
    frequency = counts / counts.sum()
    weights = torch.zeros(num_classes)
    present = frequency > 0
    weights[present] = (np.median(frequency[present].numpy()) / frequency[present]).float()
    return weights


def test_checkers_accept_the_worked_solutions(capsys):
    assert check_transposed_conv(transposed_conv_solution)
    assert check_iou_from_confusion(iou_solution)
    assert check_class_weights(weights_solution)
    assert capsys.readouterr().out.count("✓") == 3


def overwriting_transposed_conv(x, kernel, stride):
    k = kernel.shape[0]
    out = torch.zeros((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i * stride:i * stride + k, j * stride:j * stride + k] = x[i, j] * kernel
    return out


@pytest.mark.parametrize("answer, hint", [
    (overwriting_transposed_conv, "add them up"),
    (lambda x, kernel, stride: torch.zeros(2, 2), "(input - 1) · stride + kernel size"),
    (lambda x, kernel, stride: 1 / 0, "ZeroDivisionError"),
    ("not a function", "expected a function"),
])
def test_transposed_conv_checker_rejects_with_a_hint(answer, hint):
    feedback = check_transposed_conv(answer, quiet=True)
    assert not feedback and hint in feedback.message


@pytest.mark.parametrize("answer, hint", [
    (lambda m: m.double().diag() / m.double().sum(1), "recall"),
    (lambda m: iou_solution(m).nan_to_num(0.0), "NaN"),
    (lambda m: m.double().diag() / m.double().sum(), "M[c, c] / (row sum + column sum - M[c, c])"),
    (lambda m: iou_solution(m)[:2], "one IoU per class"),
])
def test_iou_checker_rejects_with_a_hint(answer, hint):
    feedback = check_iou_from_confusion(answer, quiet=True)
    assert not feedback and hint in feedback.message


def inverse_frequency(masks, num_classes):
    counts = torch.bincount(masks.reshape(-1).long(), minlength=num_classes).float()
    return counts.sum() / counts


def unguarded_median_frequency(masks, num_classes):
    frequency = torch.bincount(masks.reshape(-1).long(), minlength=num_classes).double()
    frequency /= frequency.sum()
    with np.errstate(divide="ignore"):
        return torch.from_numpy(np.median(frequency.numpy()) / frequency.numpy())


def torch_median_frequency(masks, num_classes):
    frequency = torch.bincount(masks.reshape(-1).long(), minlength=num_classes).double()
    frequency /= frequency.sum()
    return frequency.median() / frequency


@pytest.mark.parametrize("answer, hint", [
    (inverse_frequency, "wrong scale"),
    (torch_median_frequency, "not torch.median"),
    (unguarded_median_frequency, "inf or NaN"),
    (lambda masks, n: torch.ones(n), "rare classes need large weights"),
    (lambda masks, n: torch.ones(n + 1), "one weight per class"),
])
def test_class_weights_checker_rejects_with_a_hint(answer, hint):
    feedback = check_class_weights(answer, quiet=True)
    assert not feedback and hint in feedback.message


def test_checker_prints_one_line(capsys):
    check_iou_from_confusion(lambda m: m.double().diag() / m.double().sum(1))
    out = capsys.readouterr().out
    assert out.startswith("✗") and out.count("\n") == 1


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
