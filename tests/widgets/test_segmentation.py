"""cvlearn.widgets.segmentation: the explorer's views, toggles and redraws."""

import numpy as np
import pytest
import torch

from cvlearn import plot
from cvlearn.widgets.segmentation import DIVIDER, VIEWS, enlarge, png_bytes, render_view, segmentation_explorer
from tests.segmentation_case import IMAGE, PALETTE, PREDICTION, TRUTH


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
    panel = segmentation_explorer(
        images,
        torch.from_numpy(np.stack([TRUTH] * 3)),
        torch.from_numpy(np.stack([PREDICTION] * 3)),
        ["a", "b", "c"],
        PALETTE,
        scale=2,
    )
    view, legend, picture, caption = panel.children[1:]
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
