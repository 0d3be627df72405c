"""The field's standard on-disk formats, written from (and read back into) our samples.

* ImageFolder (classification): ``split/<class>/<index>.png``, read by
  ``torchvision.datasets.ImageFolder``.
* COCO JSON (detection, instances): ``split/images/<index>.png`` and
  ``split/annotations.json`` with run-length-encoded masks, read by ``pycocotools.coco.COCO``.
* VOC-style palette PNGs (semantic, instances): ``split/images/``,
  ``split/SegmentationClass/`` (class index per pixel, the dataset's palette) and
  ``split/SegmentationObject/`` (instance index per pixel), read by ``PIL.Image.open``.
* COCO keypoints (pose): ``split/images/`` and ``split/person_keypoints.json``: COCO JSON whose
  categories carry ``keypoints`` (names) and ``skeleton`` (1-based pairs) and whose annotations
  carry ``keypoints`` ([x1, y1, v1, ...], pixels) and ``num_keypoints`` (joints with v > 0).
* COCO panoptic: ``split/images/``, ``split/panoptic/<index>.png`` (segment id per pixel as
  R + 256 G + 256² B, 0 = void) and ``split/panoptic.json`` (``segments_info`` per image).

Images are PNG, not JPEG, so what is read back equals what was rendered, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from pycocotools import mask as mask_utils
from tqdm.auto import tqdm

FORMATS = ("imagefolder", "coco", "voc", "coco-keypoints", "coco-panoptic")


def _hwc(image: torch.Tensor) -> np.ndarray:
    return image.permute(1, 2, 0).numpy()


def _file_name(index: int) -> str:
    return f"{index:05d}.png"


def encode_mask(mask: np.ndarray | torch.Tensor) -> dict:
    """COCO run-length encoding of one (H, W) bool mask, with ``counts`` as str (JSON-ready)."""
    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def coco_categories(categories: Sequence[str]) -> list[dict]:
    """COCO category records for ``categories`` (index 0, background, is left out)."""
    return [{"id": i, "name": name, "supercategory": "object"} for i, name in enumerate(categories) if i > 0]


def coco_ground_truth(
    targets: Iterable[dict], categories: Sequence[str], size: tuple[int, int], with_masks: bool = True
) -> dict:
    """A COCO ground-truth dict from targets with ``boxes`` (N, 4) XYXY, ``labels`` and ``masks``.

    Image ids are the targets' ``image_id``; boxes become XYWH; ``area`` is the mask's pixel
    count (or the box area without masks), as COCOeval expects for its area ranges.
    """
    images: list[dict] = []
    annotations: list[dict] = []
    h, w = size
    for target in targets:
        image_id = int(target["image_id"])
        images.append({"id": image_id, "width": w, "height": h, "file_name": _file_name(image_id)})
        boxes = torch.as_tensor(target["boxes"]).reshape(-1, 4).tolist()
        masks = target.get("masks") if with_masks else None
        for k, (box, label) in enumerate(zip(boxes, torch.as_tensor(target["labels"]).tolist())):
            x1, y1, x2, y2 = box
            ann = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": int(label),
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "iscrowd": 0,
                "area": (x2 - x1) * (y2 - y1),
            }
            if masks is not None:
                ann["segmentation"] = encode_mask(masks[k])
                ann["area"] = float(mask_utils.area(ann["segmentation"]))
            annotations.append(ann)
    return {"images": images, "annotations": annotations, "categories": coco_categories(categories)}


def export_imagefolder(dataset: Any, out: Path, progress: bool = True) -> None:
    """Write ``out/<class>/<index>.png`` for each sample, named by its main class."""
    for name in dataset.classes:
        (out / name).mkdir(parents=True, exist_ok=True)
    for i in tqdm(range(len(dataset)), desc="imagefolder", disable=not progress, leave=False):
        cls = dataset.classes[int(dataset.targets[i])]
        Image.fromarray(_hwc(dataset.images[i])).save(out / cls / _file_name(i))


def export_coco(dataset: Any, out: Path, progress: bool = True) -> None:
    """Write ``out/images/*.png`` and ``out/annotations.json`` (boxes, labels, RLE masks)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    targets = []
    for i in tqdm(range(len(dataset)), desc="coco", disable=not progress, leave=False):
        Image.fromarray(_hwc(dataset.images[i])).save(out / "images" / _file_name(i))
        targets.append(dataset.target(i))
    gt = coco_ground_truth(targets, dataset.categories, (dataset.size, dataset.size))
    (out / "annotations.json").write_text(json.dumps(gt))


def export_voc(dataset: Any, out: Path, progress: bool = True) -> None:
    """Write images and palette PNGs of classes (``SegmentationClass``) and instances (``SegmentationObject``)."""
    folders = {k: out / k for k in ("images", "SegmentationClass", "SegmentationObject")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: len(dataset.palette)] = dataset.palette
    instance_palette = np.zeros((256, 3), dtype=np.uint8)
    instance_palette[1:] = np.random.default_rng(0).integers(40, 256, (255, 3))
    names = []
    for i in tqdm(range(len(dataset)), desc="voc", disable=not progress, leave=False):
        target = dataset.target(i)
        Image.fromarray(_hwc(dataset.images[i])).save(folders["images"] / _file_name(i))
        semantic = Image.fromarray(target["semantic"].numpy().astype(np.uint8), mode="P")
        semantic.putpalette(palette.ravel().tolist())
        semantic.save(folders["SegmentationClass"] / _file_name(i))
        instances = (target["masks"].long() * torch.arange(1, len(target["masks"]) + 1).view(-1, 1, 1)).sum(0)
        objects = Image.fromarray(instances.numpy().astype(np.uint8), mode="P")
        objects.putpalette(instance_palette.ravel().tolist())
        objects.save(folders["SegmentationObject"] / _file_name(i))
        names.append(_file_name(i)[:-4])
    (out / "classes.txt").write_text("\n".join(dataset.semantic_classes) + "\n")
    (out / "ids.txt").write_text("\n".join(names) + "\n")


def coco_keypoint_ground_truth(
    targets: Iterable[dict],
    categories: Sequence[str],
    size: tuple[int, int],
    keypoints: Sequence[str],
    skeleton: Sequence,
) -> dict:
    """:func:`coco_ground_truth` plus COCO's keypoint fields, for targets with ``keypoints`` (N, K, 3).

    Every category gets ``keypoints`` (names) and ``skeleton`` (1-based pairs, COCO's JSON
    convention); each annotation ``keypoints`` as a flat [x1, y1, v1, ...] list in pixels and
    ``num_keypoints``, the joints labelled (v > 0). Objects without joints have zeros and 0.
    """
    targets = list(targets)
    gt = coco_ground_truth(targets, categories, size)
    joints = [k for t in targets for k in torch.as_tensor(t["keypoints"]).reshape(-1, len(keypoints), 3).tolist()]
    for ann, kp in zip(gt["annotations"], joints):
        ann["keypoints"] = [round(v, 2) for point in kp for v in point]
        ann["num_keypoints"] = sum(v > 0 for _, _, v in kp)
    for category in gt["categories"]:
        category["keypoints"] = list(keypoints)
        category["skeleton"] = [[a + 1, b + 1] for a, b in skeleton]
    return gt


def export_coco_keypoints(dataset: Any, out: Path, progress: bool = True) -> None:
    """Write ``out/images/*.png`` and ``out/person_keypoints.json`` (COCO with keypoints and masks)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    targets = []
    for i in tqdm(range(len(dataset)), desc="coco-keypoints", disable=not progress, leave=False):
        Image.fromarray(_hwc(dataset.images[i])).save(out / "images" / _file_name(i))
        targets.append(dataset.target(i))
    spec = dataset.spec
    gt = coco_keypoint_ground_truth(targets, dataset.categories, (dataset.size,) * 2, spec.keypoints, spec.skeleton)
    (out / "person_keypoints.json").write_text(json.dumps(gt))


def rgb_from_id(ids: np.ndarray) -> np.ndarray:
    """(H, W) segment ids to (H, W, 3) uint8, COCO panoptic's id = R + 256 G + 256² B."""
    ids = np.asarray(ids, dtype=np.int64)
    return np.stack([ids % 256, ids // 256 % 256, ids // 256**2 % 256], axis=-1).astype(np.uint8)


def id_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 to (H, W) int64 segment ids: the inverse of :func:`rgb_from_id`."""
    rgb = np.asarray(rgb, dtype=np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256**2 * rgb[..., 2]


def panoptic_segments(panoptic: np.ndarray, thing_classes: Sequence[int], divisor: int = 1000) -> list[dict]:
    """COCO ``segments_info`` of one (H, W) panoptic map of ids ``class * divisor + instance``.

    Segment ids are the panoptic ids themselves; id 0 (background) is void and gets no segment.
    ``bbox`` is XYWH around the segment's pixels, ``area`` its pixel count.
    """
    ids, areas = np.unique(panoptic, return_counts=True)
    segments = []
    for ident, area in zip(ids.tolist(), areas.tolist()):
        if ident == 0:
            continue
        ys, xs = np.nonzero(panoptic == ident)
        x0, y0 = int(xs.min()), int(ys.min())
        category = ident // divisor
        segments.append(
            {
                "id": ident,
                "category_id": category,
                "iscrowd": 0,
                "area": area,
                "bbox": [x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0],
                "isthing": int(category in thing_classes),
            }
        )
    return segments


def export_coco_panoptic(dataset: Any, out: Path, progress: bool = True) -> None:
    """Write ``out/images/*.png``, ``out/panoptic/*.png`` (ids as RGB) and ``out/panoptic.json``.

    Categories are the semantic classes (id = index into ``semantic_classes``, 0 = void),
    ``isthing`` 1 for object classes; each annotation names its PNG and its ``segments_info``.
    """
    for folder in ("images", "panoptic"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    classes = list(dataset.semantic_classes)
    things = [classes.index(c) for c in dataset.classes]
    categories = [
        {"id": i, "name": name, "isthing": int(i in things), "color": [int(v) for v in dataset.palette[i]]}
        for i, name in enumerate(classes)
        if i > 0
    ]
    images, annotations = [], []
    for i in tqdm(range(len(dataset)), desc="coco-panoptic", disable=not progress, leave=False):
        target = dataset.target(i)
        panoptic = target["panoptic"].numpy()
        Image.fromarray(_hwc(dataset.images[i])).save(out / "images" / _file_name(i))
        Image.fromarray(rgb_from_id(panoptic)).save(out / "panoptic" / _file_name(i))
        images.append({"id": i, "width": dataset.size, "height": dataset.size, "file_name": _file_name(i)})
        segments = panoptic_segments(panoptic, things)
        annotations.append({"image_id": i, "file_name": _file_name(i), "segments_info": segments})
    gt = {"images": images, "annotations": annotations, "categories": categories}
    (out / "panoptic.json").write_text(json.dumps(gt))


def export(dataset: Any, out: str | Path, fmt: str | None = None, progress: bool = True) -> Path:
    """Write a dataset split to ``out`` in ``fmt`` (default: the dataset's own format)."""
    fmt = dataset.spec.export_format if fmt is None else fmt
    writers = {
        "imagefolder": export_imagefolder,
        "coco": export_coco,
        "voc": export_voc,
        "coco-keypoints": export_coco_keypoints,
        "coco-panoptic": export_coco_panoptic,
    }
    if fmt not in writers:
        raise ValueError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}")
    out = Path(out)
    writers[fmt](dataset, out, progress)
    return out
