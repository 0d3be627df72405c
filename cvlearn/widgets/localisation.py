"""Widgets of notebook 02: an IoU playground and a browser of the localiser's predictions.

Each widget is a thin ipywidgets wrapper over a pure function that the tests call:

* :func:`iou_picture` computes the IoU of two boxes and draws them, their overlap and (for
  GIoU) the smallest box around both; :func:`iou_playground` puts sliders on it;
* :func:`prediction_browser` slides through pictures drawn by
  :func:`cvlearn.plot.show_localisations`.

Each redraw renders its figure to a PNG shown in an ``ipywidgets.Image``, rather than calling
``plt.show()`` inside an ``Output`` widget: executed headless (papermill, nbval), a kernel that
displays figures into an ``Output`` widget now and then never sends its reply, and the run hangs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..boxes import convert, paired_iou
from ..plot import show_localisations
from ._common import PICTURE_LAYOUT, figure_png

BOX_A_COLOUR, BOX_B_COLOUR, OVERLAP_COLOUR = "tab:blue", "tab:orange", "tab:purple"


def _as_box(box: Any, name: str) -> torch.Tensor:
    """One XYXY box as a (4,) float tensor, or a ValueError naming ``name``."""
    try:
        box = torch.as_tensor(box, dtype=torch.float32).reshape(-1)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be four numbers (x1, y1, x2, y2), got {box!r}") from err
    if box.numel() != 4:
        raise ValueError(f"{name} must be four numbers (x1, y1, x2, y2), got {box.numel()}")
    if box[2] < box[0] or box[3] < box[1]:
        raise ValueError(f"{name} must have x2 >= x1 and y2 >= y1 (XYXY), got {box.tolist()}")
    return box


def _rectangle(box: torch.Tensor, **style: Any) -> Rectangle:
    x1, y1, x2, y2 = box.tolist()
    return Rectangle((x1, y1), x2 - x1, y2 - y1, **style)


def iou_picture(
    box_a: Any, box_b: Any, size: int = 64, show_enclosing: bool = False, ax: Any = None
) -> tuple[float, Figure]:
    """The IoU of two boxes, and a picture of it.

    box_a, box_b: (4,) XYXY in pixels on a ``size × size`` canvas. Draws both boxes, fills their
    overlap, and writes ``IoU = overlap / union`` in the title; with ``show_enclosing`` also the
    smallest box around both (dotted), the one GIoU uses. Returns ``(iou, figure)``.
    """
    a, b = _as_box(box_a, "box_a"), _as_box(box_b, "box_b")
    iou = paired_iou(a[None], b[None]).item()
    area_a, area_b = ((a[2:] - a[:2]).prod().item(), (b[2:] - b[:2]).prod().item())
    overlap = torch.cat([torch.maximum(a[:2], b[:2]), torch.minimum(a[2:], b[2:])])
    overlap_area = (overlap[2:] - overlap[:2]).clamp(min=0).prod().item()
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.2, 3.4))
    else:
        fig = ax.figure
    ax.add_patch(_rectangle(a, facecolor=BOX_A_COLOUR, alpha=0.2, edgecolor=BOX_A_COLOUR, lw=2, label="box A"))
    ax.add_patch(_rectangle(b, facecolor=BOX_B_COLOUR, alpha=0.2, edgecolor=BOX_B_COLOUR, lw=2, label="box B"))
    if overlap_area > 0:
        ax.add_patch(_rectangle(overlap, facecolor=OVERLAP_COLOUR, alpha=0.6, edgecolor="none", label="overlap"))
    if show_enclosing:
        enclosing = torch.cat([torch.minimum(a[:2], b[:2]), torch.maximum(a[2:], b[2:])])
        ax.add_patch(_rectangle(enclosing, fill=False, edgecolor="grey", lw=1, linestyle=":", label="enclosing"))
    union = area_a + area_b - overlap_area
    ax.set(xlim=(0, size), ylim=(size, 0), aspect="equal")  # y grows downwards, as in an image
    ax.set_title(f"IoU = {overlap_area:.0f} / {union:.0f} = {iou:.2f}", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="lower right")
    return iou, fig


def iou_playground(
    box_a: Sequence[int] = (8, 12, 36, 40), box_b: Sequence[int] = (20, 20, 56, 52), size: int = 64
) -> Any:
    """Sliders for two boxes (x, y, width, height each) and the live :func:`iou_picture`.

    box_a, box_b: the starting boxes, (4,) XYXY in pixels on a ``size × size`` canvas.
    """
    import ipywidgets as widgets

    controls, columns = {}, []
    for name, box in (("a", box_a), ("b", box_b)):
        x, y, w, h = convert(_as_box(box, f"box_{name}")[None], "xyxy", "xywh")[0].round().int().tolist()
        sliders = {
            f"{key}_{name}": widgets.IntSlider(
                value=value,
                min=0 if key in "xy" else 1,
                max=size,
                description=f"{name.upper()} {key}",
                continuous_update=False,
            )
            for key, value in (("x", x), ("y", y), ("w", w), ("h", h))
        }
        controls.update(sliders)
        columns.append(widgets.VBox(list(sliders.values())))

    picture = widgets.Image(format="png", layout=PICTURE_LAYOUT)

    def draw(_: Any = None) -> None:
        boxes = [
            convert(torch.tensor([[controls[f"{k}_{name}"].value for k in "xywh"]]), "xywh", "xyxy")[0] for name in "ab"
        ]
        _, fig = iou_picture(boxes[0], boxes[1], size, show_enclosing=True)
        picture.value = figure_png(fig)

    for slider in controls.values():
        slider.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox(columns), picture])


def prediction_browser(images: Sequence[Any], true_boxes: Any, pred_boxes: Any, captions: Sequence[str]) -> Any:
    """A slider through pictures, each with its true box (solid) and predicted box (dashed).

    true_boxes, pred_boxes: (N, 4) XYXY in pixels; captions: one line per picture (the order of
    ``images`` is the slider's, e.g. worst IoU first).
    """
    import ipywidgets as widgets

    if not len(images) == len(true_boxes) == len(pred_boxes) == len(captions):
        raise ValueError(
            f"need one true box, predicted box and caption per image: {len(images)} images, "
            f"{len(true_boxes)} true boxes, {len(pred_boxes)} predicted boxes, {len(captions)} captions"
        )
    slider = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="picture", continuous_update=False)
    picture = widgets.Image(format="png", layout=PICTURE_LAYOUT)

    def draw(_: Any = None) -> None:
        index = slider.value
        picture.value = figure_png(
            show_localisations(
                [images[index]],
                true_boxes[index : index + 1],
                pred_boxes[index : index + 1],
                [captions[index]],
                size=3.0,
            )
        )

    slider.observe(draw, names="value")
    draw()
    return widgets.VBox([slider, picture])
