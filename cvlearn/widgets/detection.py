"""Widget of notebook 03: an explorer of the two thresholds every detector ends with.

A detector scores thousands of candidate boxes; two numbers decide which survive:

* the **score threshold**: candidates less confident than this are dropped;
* the **NMS IoU threshold**: of two boxes of one class overlapping more than this, the
  lower-scored one is a duplicate and is dropped.

:func:`apply_thresholds` and :func:`threshold_counts` are the pure functions (tested);
:func:`threshold_picture` draws one picture with every detection marked right or wrong;
:func:`threshold_explorer` puts three sliders (picture, score, NMS IoU) on them. Each redraw
renders the figure to a PNG in an ``ipywidgets.Image`` (never ``plt.show()`` inside an ``Output``
widget, which now and then hangs a headless run; see :mod:`cvlearn.widgets.localisation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from torchvision.ops import batched_nms

from ..metrics.detection import OUTCOMES, detection_outcomes
from ..plot import show_detection_outcomes
from ._common import PICTURE_LAYOUT, figure_png


def _check_threshold(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    return float(value)


def apply_thresholds(candidates: dict, score_thresh: float, nms_thresh: float) -> dict:
    """The detections that survive both thresholds, best score first.

    Args:
        candidates: ``boxes`` (N, 4) XYXY, ``scores`` (N,), ``labels`` (N,): a detector's boxes
            before NMS (``TinyDetector.candidates``).
        score_thresh: keep candidates scoring at least this.
        nms_thresh: class by class, drop boxes overlapping a better one by more than this IoU
            (1.0 keeps every duplicate).
    """
    score_thresh = _check_threshold(score_thresh, "score_thresh")
    nms_thresh = _check_threshold(nms_thresh, "nms_thresh")
    confident = candidates["scores"] >= score_thresh
    kept = {k: v[confident] for k, v in candidates.items()}
    order = batched_nms(kept["boxes"].float(), kept["scores"].float(), kept["labels"], nms_thresh)
    return {k: v[order] for k, v in kept.items()}


def threshold_counts(
    candidates: Sequence[dict],
    targets: Sequence[dict],
    score_thresh: float,
    nms_thresh: float,
    iou_threshold: float = 0.5,
) -> dict[str, float]:
    """What the thresholds do over several pictures: each outcome counted, misses, precision, recall.

    Returns ``{"correct", "duplicate", "wrong class", "poor box", "background", "missed",
    "precision", "recall"}`` (counts, then shares); a detection is right when ``"correct"`` (see
    :func:`cvlearn.metrics.detection.detection_outcomes`).
    """
    if len(candidates) != len(targets):
        raise ValueError(f"candidates and targets must pair up: got {len(candidates)} and {len(targets)}")
    counts = dict.fromkeys((*OUTCOMES, "missed"), 0)
    total_boxes = 0
    for found, target in zip(candidates, targets):
        outcomes, missed = detection_outcomes(apply_thresholds(found, score_thresh, nms_thresh), target, iou_threshold)
        for outcome in outcomes:
            counts[outcome] += 1
        counts["missed"] += int(missed.sum())
        total_boxes += len(missed)
    detections = sum(counts[o] for o in OUTCOMES)
    return {
        **counts,
        "precision": counts["correct"] / detections if detections else 1.0,
        "recall": counts["correct"] / total_boxes if total_boxes else 1.0,
    }


def threshold_picture(
    image: Any,
    candidates: dict,
    target: dict,
    score_thresh: float,
    nms_thresh: float,
    class_names: Sequence[str],
    ax: Any = None,
) -> tuple[dict[str, int], Figure]:
    """One picture with the detections that survive the thresholds, each coloured by its outcome.

    Returns ``(counts, figure)``: how many detections of each outcome, and missed boxes.
    """
    kept = apply_thresholds(candidates, score_thresh, nms_thresh)
    outcomes, missed = detection_outcomes(kept, target)
    fig = show_detection_outcomes(
        image,
        kept,
        target,
        outcomes,
        missed,
        class_names,
        ax=ax,
        title=f"score ≥ {score_thresh:.2f}, NMS IoU {nms_thresh:.2f}",
    )
    counts = {o: outcomes.count(o) for o in OUTCOMES}
    counts["missed"] = int(missed.sum())
    return counts, fig


def threshold_explorer(
    images: Sequence[Any],
    candidates: Sequence[dict],
    targets: Sequence[dict],
    class_names: Sequence[str],
    score_thresh: float = 0.5,
    nms_thresh: float = 0.5,
) -> Any:
    """Sliders for the picture, the score threshold and the NMS IoU threshold.

    Shows the picture with its surviving detections (green: correct; orange: duplicate; purple:
    wrong class; red: poor box or background; dashed: missed box) and, under it, precision and
    recall at IoU 0.5 over all the pictures given. Returns the panel: ``children[0]`` holds the
    three sliders, ``children[1]`` the picture (an ``Image``), ``children[2]`` the totals (a ``Label``).

    Args:
        images: (3, H, W) pictures; candidates: per picture, boxes before NMS (``boxes``,
            ``scores``, ``labels``); targets: per picture, ``boxes`` and ``labels``.
    """
    import ipywidgets as widgets

    if not len(images) == len(candidates) == len(targets):
        raise ValueError(
            f"need one set of candidates and one target per image: {len(images)} images, "
            f"{len(candidates)} candidates, {len(targets)} targets"
        )
    picture = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="picture", continuous_update=False)
    score = widgets.FloatSlider(
        value=score_thresh, min=0.0, max=1.0, step=0.05, description="score ≥", continuous_update=False
    )
    nms = widgets.FloatSlider(
        value=nms_thresh, min=0.05, max=1.0, step=0.05, description="NMS IoU", continuous_update=False
    )

    shown = widgets.Image(format="png", layout=PICTURE_LAYOUT)
    summary = widgets.Label()

    def draw(_: Any = None) -> None:
        _, fig = threshold_picture(
            images[picture.value],
            candidates[picture.value],
            targets[picture.value],
            score.value,
            nms.value,
            class_names,
        )
        shown.value = figure_png(fig)
        totals = threshold_counts(candidates, targets, score.value, nms.value)
        summary.value = (
            f"over {len(images)} pictures: precision {totals['precision']:.2f}, recall "
            f"{totals['recall']:.2f} · " + ", ".join(f"{k} {totals[k]}" for k in (*OUTCOMES[1:], "missed"))
        )

    for control in (picture, score, nms):
        control.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([picture, score, nms]), shown, summary])
