"""The field's standard on-disk formats, written from (and read back into) our samples.

* ImageFolder (classification): ``split/<class>/<index>.png``, read by
  ``torchvision.datasets.ImageFolder``.
* COCO JSON (detection, instances): ``split/images/<index>.png`` and
  ``split/annotations.json`` with run-length-encoded masks, read by ``pycocotools.coco.COCO``.
* VOC-style palette PNGs (semantic, instances): ``split/images/``,
  ``split/SegmentationClass/`` (class index per pixel, the dataset's palette) and
  ``split/SegmentationObject/`` (instance index per pixel), read by ``PIL.Image.open``.

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

FORMATS = ("imagefolder", "coco", "voc")


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


def export(dataset: Any, out: str | Path, fmt: str | None = None, progress: bool = True) -> Path:
    """Write a dataset split to ``out`` in ``fmt`` (default: the dataset's own format)."""
    fmt = dataset.spec.export_format if fmt is None else fmt
    writers = {"imagefolder": export_imagefolder, "coco": export_coco, "voc": export_voc}
    if fmt not in writers:
        raise ValueError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}")
    out = Path(out)
    writers[fmt](dataset, out, progress)
    return out
