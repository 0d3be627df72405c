"""Augmentations that move every annotation with the picture.

An augmented picture is a new training sample only if its annotations still say what it shows.
Flip a street scene and the boxes, masks, semantic and panoptic maps must flip too, and so must
the joints, whose names swap as well: the left wrist is now where the right one was. Crop it, and
a person cut in half gets a smaller box (the box of what is left of its mask), one cut out
entirely disappears from every per-object key at once, and a joint now outside the picture
becomes "not labelled" (COCO's v = 0, x = y = 0). Paste people from another picture on top
(copy-paste), and whatever they cover is no longer visible: masks lose those pixels, covered
joints become v = 1, and a person covered entirely is dropped.

torchvision's ``transforms.v2`` moves images, ``BoundingBoxes``, ``Mask`` s (nearest neighbour,
so class indices stay class indices) and ``KeyPoints``; this module adds what it cannot know:

* :class:`KeypointAware` hands the datasets' plain-tensor joints (N, K, 3) and head points
  (N, 2) to any v2 pipeline as ``KeyPoints`` and rebuilds them afterwards, with v = 0 for joints
  that left the picture;
* :class:`HorizontalFlip` flips joints and swaps left and right
  (:func:`cvlearn.models.keypoints.flip_keypoints`);
* :func:`fix_targets` puts a target back in order after any geometric change: boxes from masks,
  too-small objects dropped from every per-object key, joints off their object hidden;
* :class:`CopyPaste`: Simple Copy-Paste (Ghiasi et al., 2021);
* :func:`check_consistent` lists what is wrong with a sample, the property every augmentation
  here keeps (``tests/test_augment.py`` checks it for every dataset and augmentation).

:data:`AUGMENTATIONS` names them, and :func:`compose` builds a pipeline from names::

    train = cvlearn.data.load("toy-street", "train", transforms=compose(["flip", "scale_jitter"]))

Conventions, those of the datasets (:mod:`cvlearn.data.toy`): boxes are XYXY pixel *edges*, so
the box of a mask whose pixels span columns 3 to 7 is x1 = 3, x2 = 8 (torchvision's
``masks_to_boxes`` gives 7, the last column, hence the + 1 in :func:`boxes_from_masks`); joints
and points are continuous coordinates, pixel (row i, column j) covering [j, j + 1) x [i, i + 1),
so a flip maps x to W - x (torchvision's keypoint flip uses W - 1 - x, which is why flips here
go through :class:`HorizontalFlip`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import torch
from torch.nn import functional as F
from torchvision import tv_tensors
from torchvision.ops import masks_to_boxes
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from .models.keypoints import flip_keypoints
from .toyworld import PANOPTIC_DIVISOR, PERSON_KEYPOINTS

__all__ = [
    "AUGMENTATIONS",
    "JOINT_SLACK",
    "MIN_AREA",
    "PER_OBJECT_KEYS",
    "CopyPaste",
    "FixTargets",
    "HorizontalFlip",
    "KeypointAware",
    "RandomResizedCrop",
    "SampleSource",
    "ScaleJitter",
    "boxes_from_masks",
    "check_consistent",
    "colour",
    "compose",
    "copy_paste",
    "crop",
    "fix_targets",
    "flip",
    "paste",
    "scale_jitter",
]

Target = dict[str, Any]
Sample = tuple[torch.Tensor, Target]
Augmentation = Callable[[torch.Tensor, Target], Sample]
"""Every augmentation here: ``(image, target) -> (image, target)``, a dataset's ``transforms``."""

PER_OBJECT_KEYS = ("boxes", "labels", "masks", "keypoints", "points", "difficult")
"""Target keys with one row per object: dropping an object drops the same row of each."""

MIN_AREA = 4
"""Objects with fewer visible pixels than this are dropped: a 2 x 2 speck is nothing to learn from."""

JOINT_SLACK = 1.0
"""How far (px) a visible joint may lie outside its object's box. The toy world reads joints on a
4x finer id layer than the masks, so a joint on a limb's anti-aliased edge can sit a fraction of
a pixel off its mask (0.04 px outside the box in toy-street)."""


class SampleSource(Protocol):
    """Anything indexable that gives ``(image, target)`` samples: a dataset, or a list of samples."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Sample: ...


# --------------------------------------------------------------------------------------------
# Joints and points through transforms.v2
# --------------------------------------------------------------------------------------------


def _inside(xy: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(...) bool: which of the (..., 2) continuous x, y lie in an H x W picture, edges included."""
    h, w = size
    x, y = xy[..., 0], xy[..., 1]
    return (x >= 0) & (x <= w) & (y >= 0) & (y <= h)


def _unlabel_outside(keypoints: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, K, 3) joints with those outside the picture set to COCO's "not labelled": v = x = y = 0."""
    v = torch.where(_inside(keypoints[..., :2], size), keypoints[..., 2], 0)
    xy = torch.where((v > 0).unsqueeze(-1), keypoints[..., :2], 0)
    return torch.cat([xy, v.unsqueeze(-1)], dim=-1)


def _reflections(transform: Any) -> list[Any]:
    """The flips inside a v2 pipeline (Compose, RandomApply, ... keep their steps in ``transforms``)."""
    if isinstance(transform, (v2.RandomHorizontalFlip, v2.RandomVerticalFlip)):
        return [transform]
    return [flip for step in getattr(transform, "transforms", []) for flip in _reflections(step)]


class KeypointAware:
    """Run a ``transforms.v2`` pipeline on a sample, joints and head points included.

    The datasets keep ``keypoints`` (N, K, 3) x, y, v and ``points`` (N, 2) as plain tensors, which
    v2 passes through untouched. This wraps their x, y as ``tv_tensors.KeyPoints`` for the
    pipeline, which then moves them like the boxes, and afterwards rebuilds (N, K, 3): joints
    that left the picture, or were never labelled, get v = 0 and x = y = 0. Points come back as
    (N, 2) plain tensors wherever they went; :func:`fix_targets` drops the objects whose point
    left the picture.

    v2's flips cannot be in the pipeline when there are joints: they would not swap left and
    right (and they use the pixel-index convention, W - 1 - x); use :class:`HorizontalFlip`.
    """

    def __init__(self, transform: Callable[..., Any]) -> None:
        self.transform = transform

    def __repr__(self) -> str:
        return f"KeypointAware({self.transform!r})"

    def __call__(self, image: torch.Tensor, target: Target) -> Sample:
        if ("keypoints" in target or "points" in target) and _reflections(self.transform):
            raise ValueError(
                f"{_reflections(self.transform)[0]!r} would flip joints without swapping left and right; "
                "use cvlearn.augment.HorizontalFlip for flips"
            )
        canvas = tuple(image.shape[-2:])
        wrapped = dict(target)
        if "keypoints" in target:
            wrapped["keypoints"] = tv_tensors.KeyPoints(target["keypoints"][..., :2], canvas_size=canvas)
        if "points" in target:
            wrapped["points"] = tv_tensors.KeyPoints(target["points"], canvas_size=canvas)
        image, out = self.transform(image, wrapped)
        size = (int(image.shape[-2]), int(image.shape[-1]))
        if "keypoints" in target:
            # x, y from the pipeline, v from before it: a joint stays as visible as it was
            moved = torch.cat([out["keypoints"].as_subclass(torch.Tensor), target["keypoints"][..., 2:]], dim=-1)
            out["keypoints"] = _unlabel_outside(moved, size)
        if "points" in target:
            out["points"] = out["points"].as_subclass(torch.Tensor)
        return image, out


class HorizontalFlip:
    """Flip a picture left to right with probability ``p``, with every annotation.

    Images, boxes and masks flip with ``transforms.v2.functional.horizontal_flip``; ``keypoints``
    (N, K, 3) with :func:`cvlearn.models.keypoints.flip_keypoints` (x to W - x, and left and right
    joints swap: ``names`` are the joints in order, toy-street's by default); ``points`` (N, 2) x
    to W - x. (``cvlearn.recipes.keypoints.RandomHorizontalFlipJoints`` does the same for the pose
    recipe, without points.)
    """

    def __init__(self, p: float = 0.5, names: Sequence[str] = PERSON_KEYPOINTS) -> None:
        self.p, self.names = p, tuple(names)

    def __repr__(self) -> str:
        return f"HorizontalFlip(p={self.p})"

    def __call__(self, image: torch.Tensor, target: Target) -> Sample:
        if not torch.rand(()) < self.p:
            return image, target
        width = image.shape[-1]
        out = {k: TF.horizontal_flip(v) if isinstance(v, tv_tensors.TVTensor) else v for k, v in target.items()}
        if "keypoints" in target:
            if target["keypoints"].shape[1] != len(self.names):
                raise ValueError(
                    f"keypoints have {target['keypoints'].shape[1]} joints but names lists {len(self.names)}; "
                    "pass the dataset's joints: HorizontalFlip(names=dataset.spec.keypoints)"
                )
            out["keypoints"] = flip_keypoints(target["keypoints"], width, self.names)
        if "points" in target:
            points = target["points"].clone()
            points[:, 0] = width - points[:, 0]
            out["points"] = points
        return TF.horizontal_flip(image), out


class ScaleJitter:
    """Large-scale jitter: scale the picture by a random factor in ``scale``, then crop or pad it
    back to its own size at a random place, so that pictures of one batch still stack.

    ``v2.ScaleJitter`` scales relative to a fixed target size; the datasets' photos differ in
    size, so one is made per call with the picture's own. Padding is 0: black pixels, background
    (semantic class 0) and void in the panoptic map.
    """

    def __init__(self, scale: tuple[float, float] = (0.5, 1.5)) -> None:
        self.scale = scale

    def __repr__(self) -> str:
        return f"ScaleJitter(scale={self.scale})"

    def __call__(self, image: torch.Tensor, target: Target) -> Sample:
        size = (int(image.shape[-2]), int(image.shape[-1]))
        jitter = v2.Compose([v2.ScaleJitter(size, scale_range=self.scale), v2.RandomCrop(size, pad_if_needed=True)])
        return jitter(image, target)


class RandomResizedCrop:
    """Crop a random window, ``side`` (fractions) of the picture's sides and of its shape, and
    resize it back to the picture's size (``v2.RandomResizedCrop``, made per call for the size)."""

    def __init__(self, side: tuple[float, float] = (0.6, 1.0)) -> None:
        self.side = side

    def __repr__(self) -> str:
        return f"RandomResizedCrop(side={self.side})"

    def __call__(self, image: torch.Tensor, target: Target) -> Sample:
        h, w = int(image.shape[-2]), int(image.shape[-1])
        # v2 draws the crop's area and its aspect ratio: squares of the sides, and the picture's own
        area = (self.side[0] ** 2, self.side[1] ** 2)
        crop_ = v2.RandomResizedCrop((h, w), scale=area, ratio=(w / h, w / h), antialias=True)
        return crop_(image, target)


# --------------------------------------------------------------------------------------------
# Putting a target back in order
# --------------------------------------------------------------------------------------------


def boxes_from_masks(masks: torch.Tensor) -> tv_tensors.BoundingBoxes:
    """(N, 4) XYXY pixel-edge boxes of (N, H, W) bool masks; all zero for an empty mask.

    ``masks_to_boxes`` gives the last column and row that hold the mask; the datasets' boxes end
    at that pixel's far edge, one more.
    """
    boxes = torch.zeros(len(masks), 4)
    filled = masks.flatten(1).any(dim=1)
    if filled.any():
        boxes[filled] = masks_to_boxes(masks[filled]) + torch.tensor([0.0, 0.0, 1.0, 1.0])
    return tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=tuple(masks.shape[-2:]))


def _select(target: Target, keep: torch.Tensor) -> Target:
    """``target`` with only the objects where ``keep`` (N,) is true, in every per-object key."""
    out = dict(target)
    for key in PER_OBJECT_KEYS:
        if key in target:
            rows = target[key][keep]
            # indexing unwraps a tv_tensor; wrap() gives back its type and canvas size
            out[key] = tv_tensors.wrap(rows, like=target[key]) if isinstance(target[key], tv_tensors.TVTensor) else rows
    return out


def _joint_pixels(keypoints: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(object, row, column) indices, each (N, K), of the pixel each joint lies on (clamped in)."""
    h, w = size
    n, k = keypoints.shape[:2]
    rows = keypoints[..., 1].long().clamp(0, h - 1)
    columns = keypoints[..., 0].long().clamp(0, w - 1)
    return torch.arange(n).view(-1, 1).expand(n, k), rows, columns


def _hide_off_mask(keypoints: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(N, K, 3) joints with v = 2 turned to v = 1 where no pixel of their own mask is within 1 px.

    A joint is visible where its object shows; after a resize or a paste the pixel may show
    something else. The 1 px leeway keeps joints on anti-aliased edges visible, as the toy world
    labels them, and puts every visible joint within :data:`JOINT_SLACK` of its box.
    """
    if len(keypoints) == 0:
        return keypoints
    near = F.max_pool2d(masks.unsqueeze(1).float(), kernel_size=3, stride=1, padding=1).squeeze(1) > 0
    on_own = near[_joint_pixels(keypoints, (int(masks.shape[-2]), int(masks.shape[-1])))]
    out = keypoints.clone()
    out[..., 2] = torch.where((keypoints[..., 2] == 2) & ~on_own, 1, keypoints[..., 2])
    return out


def _instance_ids(masks: torch.Tensor) -> torch.Tensor:
    """(H, W) int64: k + 1 where mask k is, 0 elsewhere (the masks are disjoint)."""
    ids = torch.arange(1, len(masks) + 1).view(-1, 1, 1)
    return (masks.long() * ids).amax(dim=0) if len(masks) else torch.zeros(masks.shape[-2:], dtype=torch.long)


def _panoptic(semantic: torch.Tensor, masks: torch.Tensor, panoptic: torch.Tensor) -> tv_tensors.Mask:
    """The panoptic map rebuilt from the objects that are left: ``semantic * 1000 + k + 1`` on
    mask k; stuff pixels as they were; pixels of objects no longer annotated become void (0)."""
    ids = _instance_ids(masks)
    stuff = torch.where(panoptic % PANOPTIC_DIVISOR > 0, 0, panoptic)
    return tv_tensors.Mask(torch.where(ids > 0, semantic * PANOPTIC_DIVISOR + ids, stuff))


def _fix_from_masks(target: Target, size: tuple[int, int], min_area: int) -> Target:
    """Boxes from masks, objects below ``min_area`` pixels dropped, joints off their mask hidden."""
    masks = target["masks"]
    # a crowd counts heads, hidden or not (toy-crowd keeps people hidden behind others, with an
    # empty mask and an all-zero box): a person stays while their head is in the picture
    keep = _inside(target["points"], size) if "points" in target else masks.flatten(1).sum(dim=1) >= min_area
    out = {**target, "boxes": boxes_from_masks(masks)}
    if "keypoints" in target:
        out["keypoints"] = _hide_off_mask(target["keypoints"], masks)
    out = _select(out, keep)
    if "panoptic" in target and "semantic" in target:
        out["panoptic"] = _panoptic(target["semantic"], out["masks"], target["panoptic"])
    return out


def _sanitize_boxes(target: Target, min_area: int) -> Target:
    """Without masks: boxes clamped into the picture, objects whose box is under 1 px wide or high
    or under ``min_area`` px² dropped (``v2.SanitizeBoundingBoxes``), from every per-object key."""
    objects = {key: target[key] for key in PER_OBJECT_KEYS if key in target}
    others = [key for key in objects if key != "boxes"]
    clean = v2.Compose(
        [
            v2.ClampBoundingBoxes(),
            v2.SanitizeBoundingBoxes(min_area=max(min_area, 1), labels_getter=lambda s: [s[k] for k in others]),
        ]
    )
    # only the per-object keys go in: v2 would also cut an (H, W) semantic mask whose H equals N
    return {**target, **clean(objects)}


def fix_targets(image: torch.Tensor, target: Target, min_area: int = MIN_AREA) -> Sample:
    """Put ``target`` back in order after a geometric transform of ``image`` (3, H, W).

    With ``masks`` (N, H, W) bool: each box becomes its mask's box (XYXY pixel edges, so "a mask's
    box is its box" holds exactly); objects with fewer than ``min_area`` visible pixels go, from
    ``boxes``, ``labels``, ``masks``, ``keypoints``, ``points`` and ``difficult`` alike (in a crowd,
    with head ``points``, a person goes when the head leaves the picture instead, see below);
    ``panoptic`` numbers the objects left and leaves the pixels of dropped ones void (0). Without
    masks: boxes are clamped into the picture and degenerate ones dropped.

    Joints (N, K, 3): those outside the picture get v = x = y = 0; a visible one (v = 2) with no
    pixel of its own mask within 1 px becomes hidden (v = 1). ``count`` becomes the number of
    objects left. ``semantic`` is left as it is: its pixels moved with the picture, and class
    pixels of a dropped object still show that class.

    toy-crowd counts every person, hidden ones included (an empty mask and an all-zero box), so
    there an object stays exactly while its head point is in the picture, whatever its area.
    """
    size = (int(image.shape[-2]), int(image.shape[-1]))
    target = dict(target)
    if "keypoints" in target:
        target["keypoints"] = _unlabel_outside(target["keypoints"], size)
    if "masks" in target:
        target = _fix_from_masks(target, size, min_area)
    elif "boxes" in target:
        target = _sanitize_boxes(target, min_area)
    if "count" in target:
        target["count"] = len(target["points"] if "points" in target else target["labels"])
    return image, target


class FixTargets:
    """:func:`fix_targets` as a pipeline step."""

    def __init__(self, min_area: int = MIN_AREA) -> None:
        self.min_area = min_area

    def __repr__(self) -> str:
        return f"FixTargets(min_area={self.min_area})"

    def __call__(self, image: torch.Tensor, target: Target) -> Sample:
        return fix_targets(image, target, self.min_area)


# --------------------------------------------------------------------------------------------
# Copy-paste
# --------------------------------------------------------------------------------------------


def paste(image: torch.Tensor, target: Target, source_image: torch.Tensor, objects: Target) -> Sample:
    """Paste ``objects`` (a target of the same size as ``image``, every object of it) on top.

    The picture takes ``source_image``'s pixels under the objects' masks; existing masks lose
    them; ``semantic`` takes the objects' class pixels; the objects join every per-object key
    (joint-less objects get all-zero joints); visible joints (v = 2) on a pixel now covered by
    another object become hidden (v = 1). Boxes and the panoptic map are left for
    :func:`fix_targets`, which also drops objects covered entirely.
    """
    cover = objects["masks"].any(dim=0)  # (H, W): pixels the pasted objects take
    out = dict(target)
    masks = torch.cat([target["masks"] & ~cover, objects["masks"]])
    out["masks"] = tv_tensors.Mask(masks)
    out["semantic"] = tv_tensors.Mask(torch.where(cover, objects["semantic"], target["semantic"]))
    for key in PER_OBJECT_KEYS:
        if key not in target or key == "masks":
            continue
        if key == "keypoints" and key not in objects:
            added = torch.zeros(len(masks) - len(target["masks"]), *target[key].shape[1:])
        elif key not in objects:
            raise ValueError(f"the pasted objects have no {key!r}, which the picture's target has")
        else:
            added = objects[key]
        rows = torch.cat([target[key].as_subclass(torch.Tensor), added.as_subclass(torch.Tensor)])
        out[key] = tv_tensors.wrap(rows, like=target[key]) if isinstance(target[key], tv_tensors.TVTensor) else rows
    if "keypoints" in out:
        # a joint is covered where a pasted object, not its own, now shows
        covered = (cover & ~masks)[_joint_pixels(out["keypoints"], (int(cover.shape[0]), int(cover.shape[1])))]
        keypoints = out["keypoints"].clone()
        keypoints[..., 2] = torch.where((keypoints[..., 2] == 2) & covered, 1, keypoints[..., 2])
        out["keypoints"] = keypoints
    pixels = torch.where(cover, source_image, image)
    return tv_tensors.wrap(pixels, like=image) if isinstance(image, tv_tensors.Image) else pixels, out


def _without_transforms(source: SampleSource) -> SampleSource:
    """``source`` without its ``transforms``: a dataset that pastes from itself would otherwise
    paste into the sample it pastes from, without end."""
    if getattr(source, "transforms", None) is None:
        return source
    plain = copy.copy(source)
    plain.transforms = None  # type: ignore[attr-defined]
    return plain


class CopyPaste:
    """Simple Copy-Paste (Ghiasi et al., 2021): with probability ``p``, paste 1 to ``max_objects``
    random objects (their mask pixels) of a random sample of ``source`` onto the picture.

    ``source`` is a dataset (anything indexable giving ``(image, target)``) whose targets have
    ``masks``, usually the training set itself (its ``transforms`` are not applied to the objects
    pasted). A source picture of another size is resized to the picture's first. See
    :func:`paste` for what happens to the target, then :func:`fix_targets` (``min_area``). The
    paper also scales both pictures at random: put ``"scale_jitter"`` before it for that.
    """

    def __init__(self, source: SampleSource, p: float = 0.5, max_objects: int = 10, min_area: int = MIN_AREA) -> None:
        if len(source) == 0:
            raise ValueError("source must hold at least one sample to paste objects from; it is empty")
        _, first = source[0]
        if "masks" not in first:
            raise ValueError(
                f"source must have instance masks to paste objects from (a 'masks' key in its targets); "
                f"{getattr(source, 'name', type(source).__name__)} has only {sorted(first)}"
            )
        self.source = _without_transforms(source)
        self.p, self.max_objects, self.min_area = p, max_objects, min_area

    def __repr__(self) -> str:
        return f"CopyPaste(p={self.p}, max_objects={self.max_objects}, min_area={self.min_area})"

    def _objects(self, size: tuple[int, int]) -> tuple[torch.Tensor, Target]:
        """A random source sample at ``size`` with a random subset of its objects (maybe none)."""
        image, target = self.source[int(torch.randint(len(self.source), ()))]
        if tuple(image.shape[-2:]) != size:
            image, target = fix_targets(*KeypointAware(v2.Resize(size, antialias=True))(image, target), self.min_area)
        candidates = torch.nonzero(target["masks"].flatten(1).sum(dim=1) >= self.min_area).flatten()
        n = int(torch.randint(1, min(self.max_objects, len(candidates)) + 1, ())) if len(candidates) else 0
        chosen = candidates[torch.randperm(len(candidates))[:n]]
        keep = torch.zeros(len(target["masks"]), dtype=torch.bool)
        keep[chosen] = True
        return image, _select(target, keep)

    def __call__(self, image: torch.Tensor, target: Target) -> Sample:
        if "masks" not in target:
            raise ValueError(f"copy-paste needs instance masks in the picture's target; it has only {sorted(target)}")
        if not torch.rand(()) < self.p:
            return image, target
        source_image, objects = self._objects((int(image.shape[-2]), int(image.shape[-1])))
        if len(objects["masks"]) == 0:
            return image, target
        return fix_targets(*paste(image, target, source_image, objects), self.min_area)


# --------------------------------------------------------------------------------------------
# The named augmentations
# --------------------------------------------------------------------------------------------


def flip(p: float = 0.5, names: Sequence[str] = PERSON_KEYPOINTS, min_area: int = MIN_AREA) -> v2.Compose:
    """Flip left to right with probability ``p`` (joints swap sides: ``names``, see :class:`HorizontalFlip`)."""
    return v2.Compose([HorizontalFlip(p, names), FixTargets(min_area)])


def scale_jitter(scale: tuple[float, float] = (0.5, 1.5), min_area: int = MIN_AREA) -> v2.Compose:
    """Large-scale jitter: scale by a random factor in ``scale``, crop or pad back (:class:`ScaleJitter`)."""
    return v2.Compose([KeypointAware(ScaleJitter(scale)), FixTargets(min_area)])


def crop(side: tuple[float, float] = (0.6, 1.0), min_area: int = MIN_AREA) -> v2.Compose:
    """Zoom in: a random crop of ``side`` of each side, resized back (:class:`RandomResizedCrop`);
    objects cut off entirely, or down to under ``min_area`` pixels, are dropped."""
    return v2.Compose([KeypointAware(RandomResizedCrop(side)), FixTargets(min_area)])


def colour(
    brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4, hue: float = 0.05
) -> v2.ColorJitter:
    """Random brightness, contrast, saturation and hue (``v2.ColorJitter``): pixels change, nothing moves,
    so the target is returned as it came."""
    return v2.ColorJitter(brightness=brightness, contrast=contrast, saturation=saturation, hue=hue)


def copy_paste(source: SampleSource, p: float = 0.5, max_objects: int = 10, min_area: int = MIN_AREA) -> CopyPaste:
    """Paste objects of ``source``'s samples onto the picture (:class:`CopyPaste`)."""
    return CopyPaste(source, p, max_objects, min_area)


AUGMENTATIONS: dict[str, Callable[..., Augmentation]] = {
    "flip": flip,
    "scale_jitter": scale_jitter,
    "crop": crop,
    "colour": colour,
    "copy_paste": copy_paste,
}
"""Augmentation name -> factory; each factory's defaults give the augmentation :func:`compose` uses."""

_NEEDS_SOURCE = ("copy_paste",)


def compose(names: str | Iterable[str], source: SampleSource | None = None) -> Augmentation:
    """One augmentation that applies those of :data:`AUGMENTATIONS` named, in order.

    ``source`` is the dataset ``"copy_paste"`` pastes from (usually the training set itself).
    """
    names = [names] if isinstance(names, str) else list(names)
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; known ones are {sorted(AUGMENTATIONS)}")
    steps = []
    for name in names:
        if name in _NEEDS_SOURCE and source is None:
            raise ValueError(f"{name!r} pastes objects from other samples: pass source=, e.g. the training set")
        steps.append(AUGMENTATIONS[name](source) if name in _NEEDS_SOURCE else AUGMENTATIONS[name]())
    return v2.Compose(steps) if steps else v2.Identity()


# --------------------------------------------------------------------------------------------
# The property: a sample's annotations agree with each other and with its picture
# --------------------------------------------------------------------------------------------


def _listed(rows: torch.Tensor, limit: int = 3) -> str:
    """``rows`` (indices) as words: 'objects 1, 4, 7 and 2 more'."""
    shown = ", ".join(str(int(i)) for i in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"object{'s' if len(rows) > 1 else ''} {shown}{more}"


def _check_rows(target: Target) -> list[str]:
    """Every per-object key has one row per object, and ``count`` counts them."""
    lengths = {key: len(target[key]) for key in PER_OBJECT_KEYS if key in target}
    if len(set(lengths.values())) > 1:
        return [f"per-object keys disagree on the number of objects: {lengths}"]
    if "count" in target and lengths and target["count"] != next(iter(lengths.values())):
        return [f"count is {target['count']} but there are {next(iter(lengths.values()))} objects"]
    return []


def _check_shapes(image: torch.Tensor, target: Target, size: tuple[int, int]) -> list[str]:
    """Image (3, H, W); masks (N, H, W) bool; semantic, panoptic (H, W); boxes XYXY on an H x W canvas."""
    problems = []
    if image.ndim != 3 or image.shape[0] != 3:
        problems.append(f"image must be (3, H, W), got {tuple(image.shape)}")
    if "masks" in target and (target["masks"].ndim != 3 or tuple(target["masks"].shape[1:]) != size):
        problems.append(f"masks are {tuple(target['masks'].shape)}, the picture {size}")
    if "masks" in target and target["masks"].dtype != torch.bool:
        problems.append(f"masks must be bool, got {target['masks'].dtype}")
    for key in ("semantic", "panoptic"):
        if key in target and tuple(target[key].shape) != size:
            problems.append(f"{key} is {tuple(target[key].shape)}, the picture {size}")
    boxes = target.get("boxes")
    if boxes is not None and not isinstance(boxes, tv_tensors.BoundingBoxes):
        problems.append(f"boxes must be tv_tensors.BoundingBoxes, got {type(boxes).__name__}")
    elif boxes is not None and (boxes.format.name != "XYXY" or tuple(boxes.canvas_size) != size):
        problems.append(f"boxes are {boxes.format.name} on a {tuple(boxes.canvas_size)} canvas, not XYXY on {size}")
    if "keypoints" in target and (target["keypoints"].ndim != 3 or target["keypoints"].shape[-1] != 3):
        problems.append(f"keypoints must be (N, K, 3), got {tuple(target['keypoints'].shape)}")
    if "points" in target and (target["points"].ndim != 2 or target["points"].shape[-1] != 2):
        problems.append(f"points must be (N, 2), got {tuple(target['points'].shape)}")
    return problems


def _check_boxes(target: Target, size: tuple[int, int]) -> list[str]:
    """Boxes lie in the picture and are not degenerate (toy-crowd's hidden people: all-zero boxes
    with empty masks), and with masks each box is its mask's box, exactly."""
    if "boxes" not in target:
        return []
    h, w = size
    boxes = target["boxes"].as_subclass(torch.Tensor)
    x1, y1, x2, y2 = boxes.unbind(dim=-1)
    problems = []
    outside = torch.nonzero((x1 < 0) | (y1 < 0) | (x2 > w) | (y2 > h)).flatten()
    if len(outside):
        problems.append(f"{_listed(outside)}: box {boxes[outside[0]].tolist()} reaches outside the {size} picture")
    degenerate = (x2 <= x1) | (y2 <= y1)
    if "masks" in target:
        hidden = ~target["masks"].flatten(1).any(dim=1)
        degenerate &= ~hidden
        wrong = torch.nonzero((boxes_from_masks(target["masks"]).as_subclass(torch.Tensor) != boxes).any(dim=1))
        if len(wrong):
            i = int(wrong[0])
            tight = boxes_from_masks(target["masks"][i : i + 1])[0].tolist()
            problems.append(f"{_listed(wrong.flatten())}: box {boxes[i].tolist()} is not its mask's box {tight}")
    degenerate_rows = torch.nonzero(degenerate).flatten()
    if len(degenerate_rows):
        problems.append(f"{_listed(degenerate_rows)}: degenerate box {boxes[degenerate_rows[0]].tolist()}")
    return problems


def _check_masks(target: Target) -> list[str]:
    """Masks do not overlap (each pixel shows one object)."""
    if "masks" not in target or len(target["masks"]) == 0:
        return []
    overlap = int((target["masks"].sum(dim=0) > 1).sum())
    return [f"masks overlap on {overlap} pixels"] if overlap else []


def _check_keypoints(target: Target, size: tuple[int, int]) -> list[str]:
    """COCO joints: v in {0, 1, 2}; v = 0 means x = y = 0; labelled joints lie in the picture and
    visible ones within :data:`JOINT_SLACK` px of their object's box."""
    if "keypoints" not in target:
        return []
    keypoints = target["keypoints"]
    xy, v = keypoints[..., :2], keypoints[..., 2]
    problems = []
    if not torch.isin(v, torch.tensor([0.0, 1.0, 2.0])).all():
        problems.append(f"joint visibilities must be 0, 1 or 2, got {sorted(set(v.flatten().tolist()))}")
    unlabelled = torch.nonzero(((v == 0) & (xy != 0).any(dim=-1)).any(dim=1)).flatten()
    if len(unlabelled):
        problems.append(f"{_listed(unlabelled)}: joints with v = 0 must have x = y = 0")
    outside = torch.nonzero(((v > 0) & ~_inside(xy, size)).any(dim=1)).flatten()
    if len(outside):
        problems.append(f"{_listed(outside)}: labelled joints (v > 0) outside the {size} picture")
    if "boxes" in target:
        box = target["boxes"].as_subclass(torch.Tensor).unsqueeze(1)  # (N, 1, 4) against (N, K) joints
        x, y = xy[..., 0], xy[..., 1]
        off = (x < box[..., 0] - JOINT_SLACK) | (x > box[..., 2] + JOINT_SLACK)
        off |= (y < box[..., 1] - JOINT_SLACK) | (y > box[..., 3] + JOINT_SLACK)
        strays = torch.nonzero(((v == 2) & off).any(dim=1)).flatten()
        if len(strays):
            problems.append(f"{_listed(strays)}: visible joints more than {JOINT_SLACK} px outside the box")
    return problems


def _check_points(target: Target, size: tuple[int, int]) -> list[str]:
    """Head points lie in the picture."""
    if "points" not in target:
        return []
    outside = torch.nonzero(~_inside(target["points"], size)).flatten()
    return [f"{_listed(outside)}: point outside the {size} picture"] if len(outside) else []


def _check_semantic(target: Target) -> list[str]:
    """Each object's pixels are of one semantic class, the same for every object of a label."""
    if not {"masks", "semantic", "labels"} <= set(target) or len(target["masks"]) == 0:
        return []
    masks, semantic = target["masks"], target["semantic"].as_subclass(torch.Tensor).long()
    filled = masks.flatten(1).any(dim=1)
    lowest = torch.where(masks, semantic, torch.iinfo(torch.long).max).flatten(1).amin(dim=1)
    highest = torch.where(masks, semantic, -1).flatten(1).amax(dim=1)
    mixed = torch.nonzero(filled & (lowest != highest)).flatten()
    if len(mixed):
        return [f"{_listed(mixed)}: mask pixels of several semantic classes"]
    classes: dict[int, set[int]] = {}
    for label, cls, shown in zip(target["labels"].tolist(), lowest.tolist(), filled.tolist()):
        if shown:
            classes.setdefault(label, set()).add(cls)
    clashes = {label: sorted(found) for label, found in classes.items() if len(found) > 1}
    return [f"objects of one label show different semantic classes: {clashes}"] if clashes else []


def _check_panoptic(target: Target) -> list[str]:
    """Panoptic ids are ``semantic * 1000 + k + 1`` on mask k, and ``semantic * 1000`` or void (0)
    off the masks."""
    if not {"masks", "semantic", "panoptic"} <= set(target):
        return []
    ids = _instance_ids(target["masks"])
    semantic, panoptic = target["semantic"].as_subclass(torch.Tensor), target["panoptic"].as_subclass(torch.Tensor)
    expected = semantic * PANOPTIC_DIVISOR + ids
    wrong = (panoptic != expected) & ((ids > 0) | (panoptic != 0))
    return [f"panoptic disagrees with semantic and masks on {int(wrong.sum())} pixels"] if wrong.any() else []


def check_consistent(image: torch.Tensor, target: Target) -> list[str]:
    """What is wrong with a sample's annotations, in words; an empty list when nothing is.

    The rules, those the datasets' own samples keep (see the module docstring for conventions):

    * per-object keys (:data:`PER_OBJECT_KEYS`) have one row per object; ``count`` counts them;
    * masks (N, H, W) bool, ``semantic`` and ``panoptic`` (H, W), boxes' canvas: the picture's size;
    * boxes are XYXY, inside the picture, not degenerate; with masks, each box is exactly its
      mask's box (pixel edges), all zero for an empty mask (toy-crowd's hidden people);
    * masks do not overlap; each shows one semantic class, the same for all objects of a label;
    * joints: v in {0, 1, 2}, v = 0 with x = y = 0, labelled ones in the picture, visible ones
      (v = 2) within :data:`JOINT_SLACK` px of their box; head points in the picture;
    * panoptic ids are ``semantic * 1000 + instance`` on the masks, stuff or void (0) elsewhere.
    """
    size = (int(image.shape[-2]), int(image.shape[-1]))
    # the other rules pair rows and pixels up; with those wrong, they would only add noise
    problems = _check_rows(target) or _check_shapes(image, target, size)
    if problems:
        return problems
    return [
        *_check_boxes(target, size),
        *_check_masks(target),
        *_check_keypoints(target, size),
        *_check_points(target, size),
        *_check_semantic(target),
        *_check_panoptic(target),
    ]
