"""Widget of notebook 05: slide the score threshold over Mask R-CNN's predictions.

Every instance that survives the threshold keeps one colour and one ID ("pen 1", "pen 2") for
as long as it stays on screen, so you can watch low-scored duplicates and false alarms appear
as the threshold drops, and real pens vanish as it rises.

:func:`keep_confident` and :func:`instance_counts` are the pure functions (tested);
:func:`instance_picture` draws one picture; :func:`score_explorer` puts two sliders (picture,
score) on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from matplotlib.figure import Figure

from ..metrics.instance import mask_iou
from ..plot import show_instances
from ._common import PICTURE_LAYOUT, figure_png


def _check_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"score_thresh must be a number between 0 and 1, got {value!r}")
    return float(value)


def keep_confident(prediction: dict, score_thresh: float) -> dict:
    """The instances of one prediction scoring at least ``score_thresh``, best first.

    prediction: ``boxes`` (K, 4) XYXY, ``scores`` (K,), ``labels`` (K,), ``masks`` (K, H, W)
    bool. IDs follow the order, so an instance's ID never changes while it is kept: the
    threshold only cuts the list short.
    """
    score_thresh = _check_threshold(score_thresh)
    scores = torch.as_tensor(prediction["scores"])
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[scores[order] >= score_thresh]
    return {k: torch.as_tensor(v)[order] for k, v in prediction.items()}


def instance_counts(
    predictions: Sequence[dict], targets: Sequence[dict], score_thresh: float, iou_threshold: float = 0.5
) -> dict[str, float]:
    """What a threshold does over several pictures: instances found, right ones, false ones, missed.

    An instance is right when its mask overlaps a not-yet-matched true mask by at least
    ``iou_threshold`` (greedy, best score first, as COCO matches). Returns ``{"found", "right",
    "false", "missed", "counted right"}``, the last being the share of pictures whose number of
    instances equals the truth.
    """
    if len(predictions) != len(targets):
        raise ValueError(f"predictions and targets must pair up: got {len(predictions)} and {len(targets)}")
    totals = dict.fromkeys(("found", "right", "false", "missed"), 0)
    exact = 0
    for prediction, target in zip(predictions, targets):
        kept = keep_confident(prediction, score_thresh)
        true_masks = torch.as_tensor(target["masks"]).bool()
        right = 0
        if len(kept["masks"]) and len(true_masks):
            ious = mask_iou(kept["masks"], true_masks)
            taken = torch.zeros(len(true_masks), dtype=torch.bool)
            for row in ious:
                row = row.masked_fill(taken, -1)
                if row.max() >= iou_threshold:
                    taken[row.argmax()] = True
                    right += 1
        found = len(kept["masks"])
        totals["found"] += found
        totals["right"] += right
        totals["false"] += found - right
        totals["missed"] += len(true_masks) - right
        exact += int(found == len(true_masks))
    return {**totals, "counted right": exact / len(predictions) if predictions else 1.0}


def _count(n: int, noun: str) -> str:
    """ "1 instance", "2 instances"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def instance_picture(
    image: Any, prediction: dict, score_thresh: float, class_names: Sequence[str], ax: Any = None
) -> Figure:
    """One picture with the instances scoring at least ``score_thresh``: a colour, an ID and a
    score each, and a box around it."""
    kept = keep_confident(prediction, score_thresh)
    return show_instances(
        image,
        kept["masks"],
        kept["labels"],
        class_names,
        scores=kept["scores"],
        boxes=kept["boxes"],
        ax=ax,
        title=f"score ≥ {score_thresh:.2f}: {_count(len(kept['scores']), 'instance')}",
    )


def score_explorer(
    images: Sequence[Any],
    predictions: Sequence[dict],
    targets: Sequence[dict],
    class_names: Sequence[str],
    score_thresh: float = 0.5,
) -> Any:
    """Sliders for the picture and the score threshold over Mask R-CNN's predictions.

    Shows the picture with its kept instances (own colour and ID each) and, under it, how many
    instances were found, right, false and missed over all the pictures given. The picture is a
    PNG in an ``ipywidgets.Image`` (``children[1]``), the totals a ``Label`` (``children[2]``):
    ``plt.show()`` inside an ``Output`` widget can leave a headless kernel's reply unsent.

    Args:
        images: (3, H, W) pictures; predictions: per picture ``boxes``, ``scores``, ``labels``,
            ``masks`` (K, H, W) bool; targets: per picture ``masks`` (N, H, W).
    """
    import ipywidgets as widgets

    if not len(images) == len(predictions) == len(targets):
        raise ValueError(
            f"need one prediction and one target per image: {len(images)} images, "
            f"{len(predictions)} predictions, {len(targets)} targets"
        )
    picture = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="picture", continuous_update=False)
    score = widgets.FloatSlider(
        value=score_thresh, min=0.0, max=1.0, step=0.05, description="score ≥", continuous_update=False
    )

    shown = widgets.Image(format="png", layout=PICTURE_LAYOUT)
    summary = widgets.Label()

    def draw(_: Any = None) -> None:
        fig = instance_picture(images[picture.value], predictions[picture.value], score.value, class_names)
        fig.set_size_inches(4, 4)
        shown.value = figure_png(fig)
        counts = instance_counts(predictions, targets, score.value)
        summary.value = (
            f"over {len(images)} pictures at score ≥ {score.value:.2f}: {counts['found']} found, "
            f"{counts['right']} right, {counts['false']} false, {counts['missed']} missed; "
            f"the count is exact on {counts['counted right']:.0%} of pictures"
        )

    for control in (picture, score):
        control.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([picture, score]), shown, summary])
