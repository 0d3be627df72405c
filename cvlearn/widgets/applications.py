"""Widgets of notebook 06: poses joint by joint, crowds as density maps, panoptic street scenes.

**Poses** (:func:`pose_explorer`): Keypoint R-CNN's people, one picture at a time.

Slide the score threshold to watch doubtful people appear and vanish, and switch joints on and
off to see which ones the model places well (a head, a hip) and which ones wander (a wrist
behind the body): a bone is drawn only when both its joints are shown.

:func:`keep_poses`, :func:`shown_joints` and :func:`shown_bones` are the pure functions
(tested); :func:`pose_picture` draws one picture with torchvision's ``draw_bounding_boxes`` and
``draw_keypoints``; :func:`pose_explorer` puts a picture slider, a score slider and joint
toggles on them.

**Crowds** (:func:`density_explorer`): each picture beside its predicted density map, with the
true count, the map's sum and the detector's count (:func:`density_picture`, :func:`count_summary`).

**Panoptic scenes** (:func:`panoptic_explorer`): stuff in its class's colour and every thing in
a shade of its own, predicted beside true, stuff and things shown together or apart
(:func:`panoptic_colours`, :func:`panoptic_picture`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import draw_bounding_boxes, draw_keypoints

from ..plot import as_numpy_image
from ..toyworld import PERSON_KEYPOINTS, PERSON_SKELETON
from ._common import PICTURE_LAYOUT, enlarge, png_bytes

__all__ = [
    "count_summary",
    "density_explorer",
    "density_picture",
    "keep_poses",
    "panoptic_colours",
    "panoptic_explorer",
    "panoptic_picture",
    "pose_explorer",
    "pose_picture",
    "shown_bones",
    "shown_joints",
]

PREDICTED_COLOUR = (255, 60, 60)
"""Predicted joints and boxes: red."""
TRUE_COLOUR = (60, 230, 60)
"""True joints (when targets are given): green."""


def _check_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"score_threshold must be a number between 0 and 1, got {value!r}")
    return float(value)


def keep_poses(prediction: dict, score_threshold: float) -> dict:
    """The people of one Keypoint R-CNN prediction scoring at least ``score_threshold``, best first.

    prediction: ``boxes`` (K, 4) XYXY pixels, ``labels`` (K,), ``scores`` (K,), ``keypoints``
    (K, J, 3) x, y, v and ``keypoints_scores`` (K, J), as :func:`cvlearn.models.predict_keypoints`
    returns; every entry is cut to the people kept, (M, ...) with M ≤ K.
    """
    score_threshold = _check_threshold(score_threshold)
    if "scores" not in prediction:
        raise ValueError(f"prediction must have scores, got the keys {sorted(prediction)}")
    scores = torch.as_tensor(prediction["scores"])
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[scores[order] >= score_threshold]
    return {key: torch.as_tensor(value)[order] for key, value in prediction.items()}


def _joint_list(joints: Sequence[int] | None, count: int) -> list[int]:
    """The joints to show as indices 0..count-1 (``None``: all of them)."""
    if joints is None:
        return list(range(count))
    chosen = [int(j) for j in joints]
    outside = [j for j in chosen if not 0 <= j < count]
    if outside:
        raise ValueError(f"joints must be indices 0..{count - 1} of the {count} joints, got {outside}")
    return chosen


def shown_joints(keypoints: torch.Tensor, joints: Sequence[int] | None = None) -> torch.Tensor:
    """(N, J) bool: which joints to draw, those chosen in ``joints`` (indices; ``None``: all) that
    are labelled (v > 0). keypoints: (N, J, 3) x, y, v."""
    points = torch.as_tensor(keypoints)
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"keypoints must be (N, J, 3) x, y, v, got shape {tuple(points.shape)}")
    chosen = torch.zeros(points.shape[1], dtype=torch.bool)
    chosen[_joint_list(joints, points.shape[1])] = True
    return (points[..., 2] > 0) & chosen[None, :]


def shown_bones(skeleton: Sequence[tuple[int, int]], joints: Sequence[int] | None, count: int) -> list[tuple[int, int]]:
    """The bones of ``skeleton`` (index pairs) whose two ends are both among ``joints`` (``None``: all ``count``)."""
    chosen = set(_joint_list(joints, count))
    return [(int(a), int(b)) for a, b in skeleton if a in chosen and b in chosen]


def _canvas(image: Any, scale: int) -> torch.Tensor:
    """(3, H·scale, W·scale) uint8: the picture, each pixel a scale×scale block, to draw thin lines on."""
    return torch.from_numpy(enlarge(as_numpy_image(image), scale).copy()).permute(2, 0, 1).contiguous()


def _draw_people(
    canvas: torch.Tensor,
    keypoints: torch.Tensor,
    joints: Sequence[int] | None,
    skeleton: Sequence[tuple[int, int]],
    colour: tuple[int, int, int],
    scale: int,
) -> torch.Tensor:
    """``canvas`` with each person's shown joints as dots of ``colour`` and their bones as white lines."""
    points = torch.as_tensor(keypoints).float()
    if len(points) == 0:
        return canvas
    xy, visible, radius = points[..., :2] * scale, shown_joints(points, joints), max(1, scale)
    bones = shown_bones(skeleton, joints, points.shape[1])
    with_bones = draw_keypoints(
        canvas, xy, connectivity=bones, colors=colour, radius=radius, width=max(1, scale // 2), visibility=visible
    )
    # draw_keypoints paints bones over the dots; a second pass puts the dots back on top
    return draw_keypoints(with_bones, xy, colors=colour, radius=radius, visibility=visible)


def pose_picture(
    image: Any,
    prediction: dict,
    joints: Sequence[int] | None = None,
    skeleton: Sequence[tuple[int, int]] = PERSON_SKELETON,
    target: dict | None = None,
    scale: int = 1,
) -> torch.Tensor:
    """(3, H·scale, W·scale) uint8: the picture with the predicted people drawn on it.

    image: (3, H, W) uint8 or float 0..1; prediction: the people to draw (``boxes`` (M, 4) XYXY
    pixels, ``scores`` (M,), ``keypoints`` (M, J, 3); filter it first with :func:`keep_poses`);
    joints: the joint indices to show (``None``: all); skeleton: bones as index pairs, drawn when
    both ends are shown; target: optional truth whose ``keypoints`` (N, J, 3) are drawn as green
    dots, unlabelled joints (v = 0) left out; scale: how many screen pixels per picture pixel.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int, got {scale!r}")
    canvas = _canvas(image, scale)
    if target is not None:
        canvas = _draw_people(canvas, target["keypoints"], joints, (), TRUE_COLOUR, scale)
    boxes = torch.as_tensor(prediction["boxes"]).float()
    if len(boxes):
        labels = [f"{float(s):.2f}" for s in torch.as_tensor(prediction["scores"])]
        canvas = draw_bounding_boxes(canvas, boxes * scale, labels=labels, colors=PREDICTED_COLOUR)
    return _draw_people(canvas, prediction["keypoints"], joints, skeleton, PREDICTED_COLOUR, scale)


def _summary(kept: dict, everything: dict, threshold: float, target: dict | None) -> str:
    line = f"{len(kept['scores'])} of {len(everything['scores'])} people scored ≥ {threshold:.2f}"
    if target is not None:
        line += f", {len(target['keypoints'])} in the truth (green dots)"
    return line + "; red: predicted joints and boxes, white: bones"


def pose_explorer(
    images: Sequence[Any],
    predictions: Sequence[dict],
    targets: Sequence[dict] | None = None,
    names: Sequence[str] = PERSON_KEYPOINTS,
    skeleton: Sequence[tuple[int, int]] = PERSON_SKELETON,
    score_threshold: float = 0.5,
    scale: int = 3,
) -> Any:
    """A picture slider, a score slider and joint toggles over Keypoint R-CNN's predictions.

    Returns the panel: ``children[0]`` holds the picture and score sliders, ``children[1]`` the
    joints (a ``SelectMultiple`` of ``names``, all chosen at first, and an "all joints" button),
    ``children[2]`` the picture (an ``Image``) and ``children[3]`` a ``Label`` saying how many
    people are shown.

    Args:
        images: (3, H, W) pictures; predictions: per picture what
            :func:`cvlearn.models.predict_keypoints` returns; targets: per picture the truth
            (``keypoints`` (N, J, 3)), drawn as green dots, or ``None``.
    """
    import ipywidgets as widgets

    if len(images) != len(predictions) or (targets is not None and len(targets) != len(images)):
        raise ValueError(
            f"need one prediction (and one target, if given) per image: {len(images)} images, "
            f"{len(predictions)} predictions, {'no' if targets is None else len(targets)} targets"
        )
    if len(images) == 0:
        raise ValueError("images is empty: give at least one picture to explore")
    _check_threshold(score_threshold)
    picture = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="picture", continuous_update=False)
    score = widgets.FloatSlider(
        value=score_threshold, min=0.0, max=1.0, step=0.05, description="score ≥", continuous_update=False
    )
    chosen = widgets.SelectMultiple(
        options=list(names), value=list(names), rows=min(len(names), 13), description="joints"
    )
    every = widgets.Button(description="all joints")
    shown = widgets.Image(format="png", layout=PICTURE_LAYOUT)
    summary = widgets.Label()

    def draw(_: Any = None) -> None:
        everything = predictions[picture.value]
        kept = keep_poses(everything, score.value)
        target = None if targets is None else targets[picture.value]
        joints = [list(names).index(name) for name in chosen.value]
        drawn = pose_picture(images[picture.value], kept, joints, skeleton, target, scale)
        shown.value = png_bytes(as_numpy_image(drawn))
        summary.value = _summary(kept, everything, score.value, target)

    def choose_all(_: Any) -> None:
        chosen.value = list(names)

    for control in (picture, score, chosen):
        control.observe(draw, names="value")
    every.on_click(choose_all)
    draw()
    return widgets.VBox([widgets.HBox([picture, score]), widgets.HBox([chosen, every]), shown, summary])


# --------------------------------------------------------------------------------------------
# Crowd counting: the predicted density beside the picture, and both methods' counts
# --------------------------------------------------------------------------------------------


def density_picture(image: Any, density: Any, scale: int = 3) -> np.ndarray:
    """(H·scale, 2·W·scale + scale, 3) uint8: the picture, and beside it the density map drawn in
    the ``magma`` colour map (black: nobody; bright: many people per cell), stretched to the
    picture's size.

    image: (3, H, W) uint8 or float 0..1; density: (h, w) or (1, h, w) people per cell, h and w
    dividing H and W (a density network's stride).
    """
    picture = as_numpy_image(image)
    cells = torch.as_tensor(density, dtype=torch.float32).squeeze()
    if cells.ndim != 2 or picture.shape[0] % cells.shape[0] or picture.shape[1] % cells.shape[1]:
        raise ValueError(
            f"density must be (h, w) dividing the picture's {picture.shape[:2]}, got shape {tuple(cells.shape)}"
        )
    peak = float(cells.max()) if float(cells.max()) > 0 else 1.0
    coloured = (plt.get_cmap("magma")((cells.clamp(min=0) / peak).numpy())[..., :3] * 255).astype(np.uint8)
    stretched = enlarge(coloured, picture.shape[0] // cells.shape[0])
    gap = np.full((picture.shape[0], 1, 3), 255, dtype=np.uint8)
    return enlarge(np.concatenate([picture, gap, stretched], axis=1), scale)


def count_summary(true: float, density: float, detections: float | None = None) -> str:
    """One line comparing the counts of one picture: the truth, the density map's sum and,
    if given, the number of detections above their threshold, each with its error."""
    line = f"true {true:.0f} · density map {density:.1f} ({density - true:+.1f})"
    if detections is not None:
        line += f" · detections {detections:.0f} ({detections - true:+.0f})"
    return line


def density_explorer(
    images: Any, densities: Any, true_counts: Any, detection_counts: Any = None, scale: int = 3
) -> Any:
    """A picture slider over a density counter's predictions: each picture beside its predicted
    density map, and a line with the true count, the map's sum and the detector's count.

    images: (N, 3, H, W); densities: (N, 1, h, w) what :func:`cvlearn.models.predict_density`
    returns; true_counts, detection_counts: (N,) each (``detection_counts`` may be ``None``).
    """
    import ipywidgets as widgets

    counts = torch.as_tensor(true_counts, dtype=torch.float64).reshape(-1)
    found = None if detection_counts is None else torch.as_tensor(detection_counts, dtype=torch.float64).reshape(-1)
    if not len(images) or len(densities) != len(images) or len(counts) != len(images):
        raise ValueError(
            f"need one density map and one true count per picture (at least one): {len(images)} images, "
            f"{len(densities)} density maps, {len(counts)} true counts"
        )
    if found is not None and len(found) != len(images):
        raise ValueError(f"detection_counts must have one count per picture ({len(images)}), got {len(found)}")
    picture = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="picture", continuous_update=False)
    shown = widgets.Image(format="png", layout=PICTURE_LAYOUT)
    summary = widgets.Label()

    def draw(_: Any = None) -> None:
        i = picture.value
        shown.value = png_bytes(density_picture(images[i], densities[i], scale))
        predicted = float(torch.as_tensor(densities[i]).sum())
        summary.value = count_summary(float(counts[i]), predicted, None if found is None else float(found[i]))

    picture.observe(draw, names="value")
    draw()
    return widgets.VBox([picture, shown, summary])


# --------------------------------------------------------------------------------------------
# Panoptic segmentation: stuff in its class's colour, each thing in a colour of its own
# --------------------------------------------------------------------------------------------

PANOPTIC_LAYERS = ("stuff and things", "stuff only", "things only")
"""What :func:`panoptic_picture` can show."""


def panoptic_colours(panoptic: Any, palette: Any, things: Sequence[int], divisor: int = 1000) -> np.ndarray:
    """(H, W, 3) uint8: a panoptic map (H, W) of ids ``class * divisor + instance`` in colour.

    Stuff pixels take their class's ``palette`` colour (palette: (C, 3) uint8); each thing
    instance (a class of ``things``) takes its class's colour made lighter or darker by its
    instance number, so two touching people stay apart; void (id 0) is black.
    """
    ids = torch.as_tensor(panoptic).long()
    if ids.ndim != 2:
        raise ValueError(f"panoptic must be an (H, W) map of ids, got shape {tuple(ids.shape)}")
    colours = np.asarray(palette, dtype=np.float32)
    classes, instances = (ids // divisor).numpy(), (ids % divisor).numpy()
    if classes.max() >= len(colours):
        raise ValueError(f"palette has {len(colours)} colours, but the map has class {int(classes.max())}")
    picture = colours[classes]
    is_thing = np.isin(classes, list(things)) & (instances > 0)
    # alternate lighter and darker shades, instance 1 the class's own colour
    shade = np.where(instances % 2 == 0, 0.55, 1.0) + 0.25 * ((instances - 1) // 2 % 3)
    picture[is_thing] = np.clip(picture[is_thing] * shade[is_thing, None], 0, 255)
    picture[ids.numpy() == 0] = 0
    return picture.astype(np.uint8)


def panoptic_picture(
    image: Any,
    panoptic: Any,
    palette: Any,
    things: Sequence[int],
    layer: str = "stuff and things",
    alpha: float = 0.6,
    divisor: int = 1000,
) -> np.ndarray:
    """(H, W, 3) uint8: the panoptic map's colours (:func:`panoptic_colours`) laid over the picture
    with opacity ``alpha``; ``layer`` (one of :data:`PANOPTIC_LAYERS`) shows stuff, things or both
    (the other kind's pixels show the bare picture)."""
    if layer not in PANOPTIC_LAYERS:
        raise ValueError(f"layer must be one of {PANOPTIC_LAYERS}, got {layer!r}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    base = as_numpy_image(image).astype(np.float32)
    ids = torch.as_tensor(panoptic).long()
    coloured = panoptic_colours(ids, palette, things, divisor).astype(np.float32)
    thing_pixels = np.isin((ids // divisor).numpy(), list(things))
    keep = {"stuff and things": np.ones_like(thing_pixels), "stuff only": ~thing_pixels, "things only": thing_pixels}
    painted = keep[layer] & (ids.numpy() != 0)
    base[painted] = (1 - alpha) * base[painted] + alpha * coloured[painted]
    return base.astype(np.uint8)


def panoptic_explorer(
    images: Any,
    predictions: Sequence[Any],
    targets: Sequence[Any],
    palette: Any,
    things: Sequence[int],
    scale: int = 3,
) -> Any:
    """A picture slider and a choice of layer (stuff, things, both) over panoptic predictions:
    the prediction (left) beside the truth (right).

    images: (N, 3, H, W); predictions, targets: N panoptic maps (H, W) each; palette: (C, 3)
    uint8 class colours; things: the thing classes.
    """
    import ipywidgets as widgets

    if not len(images) or len(predictions) != len(images) or len(targets) != len(images):
        raise ValueError(
            f"need one prediction and one target per picture (at least one): {len(images)} images, "
            f"{len(predictions)} predictions, {len(targets)} targets"
        )
    picture = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="picture", continuous_update=False)
    layer = widgets.ToggleButtons(options=list(PANOPTIC_LAYERS), value=PANOPTIC_LAYERS[0])
    shown = widgets.Image(format="png", layout=PICTURE_LAYOUT)
    caption = widgets.Label("left: predicted · right: true · void left bare")

    def draw(_: Any = None) -> None:
        i = picture.value
        sides = [panoptic_picture(images[i], m, palette, things, layer.value) for m in (predictions[i], targets[i])]
        gap = np.full((sides[0].shape[0], 2, 3), 255, dtype=np.uint8)
        shown.value = png_bytes(enlarge(np.concatenate([sides[0], gap, sides[1]], axis=1), scale))

    for control in (picture, layer):
        control.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([picture, layer]), shown, caption])
