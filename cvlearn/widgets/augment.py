"""Notebook 07's explorer: a training sample and an augmented copy, with every annotation drawn.

:func:`augmented_sample` draws the augmented copy (the same seed, the same copy), and
:func:`annotated_picture` draws a sample with its masks, boxes and joints; the explorer only
wires sliders to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchvision.utils import draw_bounding_boxes, draw_keypoints, draw_segmentation_masks

from ..augment import AUGMENTATIONS, check_consistent, compose
from ._common import PICTURE_LAYOUT, enlarge, png_bytes

__all__ = [
    "EVERY_AUGMENTATION",
    "annotated_picture",
    "augmentation_explorer",
    "augmented_sample",
    "consistency_line",
    "usable_augmentations",
]

EVERY_AUGMENTATION = "all of them"
"""The explorer's choice that applies every augmentation the dataset allows, one after another."""

BOX_COLOUR, JOINT_COLOUR = "yellow", "red"


def usable_augmentations(dataset: Any) -> list[str]:
    """The names of :data:`cvlearn.augment.AUGMENTATIONS` that apply to ``dataset`` (copy-paste
    needs instance masks)."""
    has_masks = "masks" in dataset[0][1]
    return [name for name in AUGMENTATIONS if name != "copy_paste" or has_masks]


def augmented_sample(dataset: Any, index: int, augmentation: str, seed: int = 0) -> tuple[torch.Tensor, dict]:
    """Sample ``index`` of ``dataset`` after ``augmentation`` (a name of
    :data:`cvlearn.augment.AUGMENTATIONS`, or :data:`EVERY_AUGMENTATION`), drawn with ``seed``;
    copy-paste takes its objects from ``dataset`` itself. Returns ``(image, target)``."""
    names = usable_augmentations(dataset) if augmentation == EVERY_AUGMENTATION else [augmentation]
    transform = compose(names, source=dataset)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return transform(*dataset[index])


def annotated_picture(image: Any, target: dict, scale: int = 3) -> np.ndarray:
    """(H·scale, W·scale, 3) uint8: ``image`` (3, H, W) uint8 with its target drawn: each instance
    mask in its own colour, each box (XYXY pixels) in yellow, visible joints (v = 2) as red dots."""
    picture = torch.as_tensor(image).as_subclass(torch.Tensor).to(torch.uint8)
    if "masks" in target and len(target["masks"]):
        masks = torch.as_tensor(target["masks"]).as_subclass(torch.Tensor).bool()
        picture = draw_segmentation_masks(picture, masks, alpha=0.45)
    picture = torch.from_numpy(enlarge(picture.permute(1, 2, 0).numpy(), scale)).permute(2, 0, 1).contiguous()
    boxes = torch.as_tensor(target.get("boxes", torch.zeros(0, 4))).as_subclass(torch.Tensor).float()
    if len(boxes):
        picture = draw_bounding_boxes(picture, boxes * scale, colors=BOX_COLOUR)
    if "keypoints" in target and len(target["keypoints"]):
        joints = torch.as_tensor(target["keypoints"]).float()
        picture = draw_keypoints(
            picture,
            joints[..., :2] * scale,
            visibility=joints[..., 2] > 1,
            colors=JOINT_COLOUR,
            radius=max(1, scale // 2),
        )
    return picture.permute(1, 2, 0).numpy()


def consistency_line(image: Any, target: dict) -> str:
    """One line: how many objects, and whether every annotation still fits the picture
    (:func:`cvlearn.augment.check_consistent`), else its first problem."""
    problems = check_consistent(image, target)
    objects = len(target["boxes"]) if "boxes" in target else 0
    verdict = "every annotation fits the picture ✓" if not problems else f"✗ {problems[0]}"
    return f"{objects} objects · {verdict}"


def augmentation_explorer(dataset: Any, augmentations: Sequence[str] | None = None, scale: int = 3) -> Any:
    """A picture slider, a choice of augmentation and a seed slider over ``dataset``: the sample
    (left) beside its augmented copy (right), masks, boxes and joints drawn on both.

    Returns the panel: ``children[0]`` the picture and seed sliders, ``children[1]`` the
    augmentations (a ``ToggleButtons``), ``children[2]`` the picture, ``children[3]`` a line
    from :func:`consistency_line` about the augmented copy.
    """
    import ipywidgets as widgets

    if len(dataset) == 0:
        raise ValueError("dataset is empty: give at least one sample to augment")
    choices = [*(augmentations or usable_augmentations(dataset)), EVERY_AUGMENTATION]
    unknown = [name for name in choices if name not in (*AUGMENTATIONS, EVERY_AUGMENTATION)]
    if unknown:
        raise ValueError(f"augmentations must be among {list(AUGMENTATIONS)}, got {unknown}")
    picture = widgets.IntSlider(value=0, min=0, max=len(dataset) - 1, description="picture", continuous_update=False)
    seed = widgets.IntSlider(value=0, min=0, max=99, description="seed", continuous_update=False)
    which = widgets.ToggleButtons(options=choices, value=choices[0])
    shown = widgets.Image(format="png", layout=PICTURE_LAYOUT)
    line = widgets.Label()

    def draw(_: Any = None) -> None:
        image, target = dataset[picture.value]
        changed_image, changed = augmented_sample(dataset, picture.value, which.value, seed.value)
        sides = [annotated_picture(image, target, scale), annotated_picture(changed_image, changed, scale)]
        gap = np.full((sides[0].shape[0], 2 * scale, 3), 255, dtype=np.uint8)
        shown.value = png_bytes(np.concatenate([sides[0], gap, sides[1]], axis=1))
        line.value = "left: as rendered · right: " + consistency_line(changed_image, changed)

    for control in (picture, seed, which):
        control.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([picture, seed]), which, shown, line])
