"""Poke a trained classifier: turn, brighten or cover part of a test picture and watch its answer.

The work is done by pure functions (:func:`transform_image`, :func:`explore_prediction`,
:func:`show_prediction`), which the tests call; :func:`prediction_explorer` only wires them to
ipywidgets sliders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torchvision.transforms.v2 import functional as TF

from ..models.classification import predict_probabilities
from ..plot import as_numpy_image
from ._common import enlarge, png_bytes

PATCH_GREY = 128
"""Grey level (0..255) of the occluding square."""


def _check_image(image: Any) -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3 or image.dtype != torch.uint8:
        got = (
            f"{image.dtype} tensor of shape {tuple(image.shape)}"
            if isinstance(image, torch.Tensor)
            else type(image).__name__
        )
        raise ValueError(f"image must be one picture, a (3, H, W) uint8 tensor, got {got}")
    return image


def occlude(image: torch.Tensor, centre: tuple[int, int], size: int) -> torch.Tensor:
    """A copy of ``image`` (3, H, W) with a grey ``size``×``size`` square centred on ``centre`` = (x, y)
    in pixels; the square is clipped at the picture's edges, ``size=0`` changes nothing."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"patch size must be an int >= 0 (pixels), got {size!r}")
    out = image.clone()
    x0, y0 = (int(round(v)) - size // 2 for v in centre)
    out[:, max(y0, 0) : max(y0 + size, 0), max(x0, 0) : max(x0 + size, 0)] = PATCH_GREY
    return out


def transform_image(
    image: torch.Tensor, rotation: float = 0.0, brightness: float = 1.0, patch: tuple[int, int, int] | None = None
) -> torch.Tensor:
    """The picture the model will see: ``image`` (3, H, W) uint8, turned, brightened and covered.

    rotation: degrees anticlockwise about the centre (corners filled with the picture's mean
    colour, so no black wedges give the change away); brightness: a factor (1 = unchanged,
    0 = black); patch: ``(x, y, size)`` in pixels, a grey square centred on (x, y), or None.
    Returns (3, H, W) uint8.
    """
    image = _check_image(image)
    if not brightness >= 0:
        raise ValueError(f"brightness must be a factor >= 0, got {brightness!r}")
    if rotation:
        fill = image.float().mean(dim=(1, 2)).tolist()
        image = TF.rotate(image, float(rotation), interpolation=TF.InterpolationMode.BILINEAR, fill=fill)
    if brightness != 1.0:
        image = TF.adjust_brightness(image, float(brightness))
    if patch is not None:
        x, y, size = patch
        image = occlude(image, (x, y), size)
    return image


def explore_prediction(
    model: torch.nn.Module,
    image: torch.Tensor,
    rotation: float = 0.0,
    brightness: float = 1.0,
    patch: tuple[int, int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One setting of the explorer: the transformed picture (3, H, W) uint8 and the model's class
    probabilities for it, (C,) float summing to 1."""
    picture = transform_image(image, rotation, brightness, patch)
    return picture, predict_probabilities(model, picture[None])[0]


RIGHT_COLOUR, WRONG_COLOUR, OTHER_COLOUR, UNKNOWN_COLOUR = "tab:green", "tab:red", "tab:grey", "tab:blue"
"""Bar colours: the predicted class green when it is the true class, red when it is not (blue when
the truth is not given); every other class grey."""


def bar_colours(probabilities: Any, true_class: int | None = None) -> list[str]:
    """One colour per class bar: green means a correct prediction, red a wrong one, grey the others."""
    best = int(np.argmax(np.asarray(probabilities)))
    predicted = UNKNOWN_COLOUR if true_class is None else RIGHT_COLOUR if best == int(true_class) else WRONG_COLOUR
    return [predicted if c == best else OTHER_COLOUR for c in range(len(probabilities))]


def show_prediction(
    model: torch.nn.Module,
    image: torch.Tensor,
    classes: Sequence[str],
    rotation: float = 0.0,
    brightness: float = 1.0,
    patch: tuple[int, int, int] | None = None,
    true_class: int | None = None,
) -> Figure:
    """The explorer as a still picture: the transformed image and a bar per class probability.

    The predicted class's bar is green when it is ``true_class``, red when it is not (blue when
    no ``true_class`` is given); the other bars are grey.
    """
    picture, probabilities = explore_prediction(model, image, rotation, brightness, patch)
    fig, (left, right) = plt.subplots(1, 2, figsize=(5.5, 2.4), gridspec_kw={"width_ratios": [1, 1.3]})
    left.imshow(as_numpy_image(picture), interpolation="nearest")
    left.axis("off")
    truth = f"true: {classes[true_class]}\n" if true_class is not None else ""
    left.set_title(f"{truth}rotation {rotation:g}°, brightness ×{brightness:g}", fontsize=8)
    best = int(probabilities.argmax())
    colours = bar_colours(probabilities.numpy(), true_class)
    right.barh(list(classes), probabilities.numpy(), color=colours)
    right.set_xlim(0, 1)
    right.invert_yaxis()
    for c, p in enumerate(probabilities.tolist()):
        right.text(min(p + 0.02, 0.8), c, f"{p:.1%}", va="center", fontsize=8)
    verdict = "" if true_class is None else " (right)" if best == int(true_class) else " (wrong)"
    right.set_title(f"prediction: {classes[best]}{verdict}", fontsize=9, color=colours[best])
    fig.tight_layout()
    return fig


def prediction_explorer(
    model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor, classes: Sequence[str], scale: int = 4
) -> Any:
    """An ipywidgets panel: pick a test picture, turn it, change its brightness, move a grey patch
    over it, and watch the predicted class and its probability.

    images: (N, 3, H, W) uint8; targets: (N,) true class indices. Returns the widget.
    """
    import ipywidgets as widgets

    if len(images) != len(targets):
        raise ValueError(
            f"images and targets must hold the same number of samples, got {len(images)} and {len(targets)}"
        )
    height, width = images.shape[-2:]
    slider = {"style": {"description_width": "80px"}, "continuous_update": True}
    index = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="picture", **slider)
    rotation = widgets.FloatSlider(value=0, min=-180, max=180, step=5, description="rotation °", **slider)
    brightness = widgets.FloatSlider(value=1, min=0, max=2.5, step=0.05, description="brightness", **slider)
    size = widgets.IntSlider(value=0, min=0, max=max(height, width) // 2, description="patch size", **slider)
    x = widgets.IntSlider(value=width // 2, min=0, max=width - 1, description="patch x", **slider)
    y = widgets.IntSlider(value=height // 2, min=0, max=height - 1, description="patch y", **slider)
    picture = widgets.Image(format="png")
    truth = widgets.HTML()
    bars = [widgets.FloatProgress(value=0, min=0, max=1, description=name) for name in classes]
    readouts = [widgets.Label() for _ in classes]

    def redraw(_: Any = None) -> None:
        shown, probabilities = explore_prediction(
            model, images[index.value], rotation.value, brightness.value, (x.value, y.value, size.value)
        )
        picture.value = png_bytes(enlarge(as_numpy_image(shown), scale))
        best, true_class = int(probabilities.argmax()), int(targets[index.value])
        verdict = "right" if best == true_class else "wrong"
        truth.value = f"true class: <b>{classes[true_class]}</b> · prediction: <b>{classes[best]}</b> ({verdict})"
        for c, (bar, readout) in enumerate(zip(bars, readouts)):
            bar.value = float(probabilities[c])
            # green only for a correct prediction, red for a wrong one
            bar.bar_style = ("success" if best == true_class else "danger") if c == best else ""
            readout.value = f"{float(probabilities[c]):.1%}"

    for control in (index, rotation, brightness, size, x, y):
        control.observe(redraw, names="value")
    redraw()
    controls = widgets.VBox([index, rotation, brightness, size, x, y])
    answer = widgets.VBox([truth, *[widgets.HBox([bar, readout]) for bar, readout in zip(bars, readouts)]])
    return widgets.HBox([picture, widgets.VBox([controls, answer])])
