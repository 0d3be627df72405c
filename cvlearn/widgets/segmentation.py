"""Explore semantic segmentations: switch classes on and off, slide the overlay's opacity, and
compare the ground truth with the prediction.

The pictures come from pure functions (:func:`render_view`, :func:`enlarge`, :func:`png_bytes`),
which the tests call; :func:`segmentation_explorer` only wires them to ipywidgets controls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..plot import error_overlay, overlay
from ._common import enlarge, png_bytes

VIEWS = ("ground truth", "prediction", "side by side", "errors")
"""What the explorer can show: one mask over the image, both next to each other, or the mistakes."""


def _visible_pixels(truth: np.ndarray, prediction: np.ndarray, visible: Sequence[int] | None) -> np.ndarray:
    """(H, W) bool: pixels that belong to a visible class in the truth or in the prediction."""
    if visible is None:
        return np.ones(truth.shape, dtype=bool)
    return np.isin(truth, list(visible)) | np.isin(prediction, list(visible))


DIVIDER = (40, 40, 40)
"""Colour (RGB 0..255) of the columns between the ground truth and the prediction side by side:
dark, so the two pictures stay apart on a white page and over white clouds."""


def render_view(
    image: Any,
    truth: Any,
    prediction: Any,
    palette: Any,
    view: str = "side by side",
    alpha: float = 0.6,
    visible: Sequence[int] | None = None,
    gap: int = 2,
    ignore_index: int | None = None,
    divider: Sequence[int] = DIVIDER,
) -> np.ndarray:
    """The picture one setting of the explorer shows, as (H, W', 3) uint8.

    image: (3, H, W) or (H, W, 3); truth, prediction: (H, W) class indices; palette: (C, 3) uint8.
    view: one of :data:`VIEWS`; alpha: opacity of the class colours (0: the photo only, 1: the
    colours only); visible: class indices to colour (``None``: all). ``"side by side"`` puts the
    ground truth left and the prediction right, ``gap`` columns of colour ``divider`` (dark grey;
    RGB 0..255) apart (W' = 2W + gap);
    ``"errors"`` tints wrong pixels red, counting only pixels of a visible class and never those
    whose truth is ``ignore_index`` (VOC's 255 outlines, which the ground truth shows in cream).
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    truth, prediction = np.asarray(truth, dtype=np.int64), np.asarray(prediction, dtype=np.int64)
    if truth.shape != prediction.shape:
        raise ValueError(
            f"truth and prediction must have the same (H, W) shape, got {truth.shape} and {prediction.shape}"
        )
    if view == "ground truth":
        return overlay(image, truth, palette, alpha, visible)
    if view == "prediction":
        return overlay(image, prediction, palette, alpha, visible)
    if view == "errors":
        hidden = -1  # pixels of switched-off classes are ignored: they can be neither right nor wrong
        shown = _visible_pixels(truth, prediction, visible)
        if ignore_index is not None:
            shown &= truth != ignore_index
        return error_overlay(image, np.where(shown, truth, hidden), prediction, alpha, ignore_index=hidden)
    left, right = overlay(image, truth, palette, alpha, visible), overlay(image, prediction, palette, alpha, visible)
    spacer = np.empty((truth.shape[0], gap, 3), dtype=np.uint8)
    spacer[:] = np.asarray(divider, dtype=np.uint8)
    return np.concatenate([left, spacer, right], axis=1)


def _swatch(colour: Sequence[int]) -> str:
    r, g, b = (int(c) for c in colour)
    return (
        f'<span style="display:inline-block;width:14px;height:14px;background:rgb({r},{g},{b});'
        f'border:1px solid grey;vertical-align:middle"></span>'
    )


def segmentation_explorer(
    images: Any,
    truths: Any,
    predictions: Any,
    classes: Sequence[str],
    palette: Any,
    scale: int = 4,
    ignore_index: int | None = None,
) -> Any:
    """An ipywidgets panel over a set of samples: pick the image, the view, the opacity and the
    classes to colour (each checkbox has its class's colour as legend).

    images: (N, 3, H, W); truths, predictions: (N, H, W) class indices; palette: (C, 3) uint8;
    ignore_index: the truths' value for unlabelled pixels (never counted as errors), if any.
    Returns the widget (display it, or leave it as the cell's last value); its last child is a
    caption naming what the picture shows ("left: ground truth | right: prediction" side by side).
    """
    import ipywidgets as widgets

    if not len(images) == len(truths) == len(predictions):
        raise ValueError(
            f"images, truths and predictions must hold the same number of samples, "
            f"got {len(images)}, {len(truths)} and {len(predictions)}"
        )
    palette = np.asarray(palette)
    index = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image")
    alpha = widgets.FloatSlider(value=0.6, min=0.0, max=1.0, step=0.05, description="opacity")
    view = widgets.ToggleButtons(options=VIEWS, value="side by side")
    toggles = [
        widgets.Checkbox(value=True, description=name, indent=False, layout=widgets.Layout(width="auto"))
        for name in classes
    ]
    legend = widgets.HBox([widgets.HBox([widgets.HTML(_swatch(palette[c])), box]) for c, box in enumerate(toggles)])
    picture = widgets.Image(format="png")
    caption = widgets.HTML()

    def redraw(_: Any = None) -> None:
        i = index.value
        caption.value = (
            "left: <b>ground truth</b> | right: <b>prediction</b>"
            if view.value == "side by side"
            else f"<b>{view.value}</b>" + (" (wrong pixels in red)" if view.value == "errors" else "")
        )
        visible = [c for c, box in enumerate(toggles) if box.value]
        shown = render_view(
            images[i],
            np.asarray(truths[i]),
            np.asarray(predictions[i]),
            palette,
            view.value,
            alpha.value,
            visible,
            ignore_index=ignore_index,
        )
        picture.value = png_bytes(enlarge(shown, scale))

    for control in (index, alpha, view, *toggles):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([index, alpha]), view, legend, picture, caption])
