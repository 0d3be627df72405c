"""Tiny fake copies of the real datasets, in their real on-disk layouts, with known contents.

Each ``make_*`` writes a few generated images under the real file names, with the real
annotation files (lists, VOC-style XML, trimaps, instance and class PNGs), and returns what it
wrote so tests can compare the adapters' output against it.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from cvlearn.realdata import VOID, voc_palette


def _flat_jpeg(path: Path, h: int, w: int, colour: tuple[int, int, int]) -> None:
    """A flat colour survives JPEG almost exactly, so tests can check which file was read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), colour, dtype=np.uint8)).save(path, quality=95)


def _png(path: Path, array: np.ndarray, palette: np.ndarray | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array.astype(np.uint8), mode="P" if palette is not None else None)
    if palette is not None:
        image.putpalette(palette.ravel().tolist())
    image.save(path)


def _voc_xml(file_name: str, h: int, w: int, objects: list[tuple[str, tuple[int, int, int, int], int]]) -> str:
    """A VOC-format annotation; boxes (xmin, ymin, xmax, ymax) count pixels from 1, inclusive."""
    body = "".join(
        f"<object><name>{name}</name><pose>Frontal</pose><truncated>0</truncated><occluded>0</occluded>"
        f"<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>"
        f"<difficult>{difficult}</difficult></object>"
        for name, (x1, y1, x2, y2), difficult in objects
    )
    return (
        f"<annotation><folder>fake</folder><filename>{file_name}</filename>"
        f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>"
        f"<segmented>0</segmented>{body}</annotation>"
    )


# The first four breeds of the real list, with their real class ids and species (1 cat, 2 dog).
PET_BREEDS = [
    ("Abyssinian", 1, 1),
    ("american_bulldog", 2, 2),
    ("american_pit_bull_terrier", 3, 2),
    ("basset_hound", 4, 2),
]


def make_oxford_pets(base: Path, trainval: int = 12, test: int = 4) -> dict:
    """``base/oxford-iiit-pet/{images, annotations/{trainval.txt, test.txt, trimaps, xmls}}``.

    Image k is (40 + k) x (60 + 2k), flat colour (10k, 100, 200); its trimap is background (2)
    with a pet rectangle (1) ringed by a border band (3); trainval images get a head box XML.
    """
    root = base / "oxford-iiit-pet"
    rows = {"trainval": [], "test": []}
    samples = {}
    for k in range(trainval + test):
        split = "trainval" if k < trainval else "test"
        breed, class_id, species = PET_BREEDS[k % len(PET_BREEDS)]
        image_id = f"{breed}_{k + 1}"
        h, w = 40 + k, 60 + 2 * k
        colour = (10 * k, 100, 200)
        _flat_jpeg(root / "images" / f"{image_id}.jpg", h, w, colour)
        trimap = np.full((h, w), 2, dtype=np.uint8)
        trimap[8:30, 10:40] = 3
        trimap[10:28, 12:38] = 1
        _png(root / "annotations" / "trimaps" / f"{image_id}.png", trimap)
        head = (15, 11, 30, 20)  # xmin, ymin, xmax, ymax, 1-based inclusive
        if split == "trainval":
            xml = _voc_xml(f"{image_id}.jpg", h, w, [("cat" if species == 1 else "dog", head, 0)])
            (root / "annotations" / "xmls").mkdir(parents=True, exist_ok=True)
            (root / "annotations" / "xmls" / f"{image_id}.xml").write_text(xml)
        rows[split].append(f"{image_id} {class_id} {species} {k + 1}")
        samples[image_id] = {
            "split": split,
            "size": (h, w),
            "colour": colour,
            "species": species - 1,
            "breed": class_id - 1,
            "trimap": trimap,
            "head": head,
        }
    for split, lines in rows.items():
        (root / "annotations" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return {
        "trainval": [r.split()[0] for r in rows["trainval"]],
        "test": [r.split()[0] for r in rows["test"]],
        "samples": samples,
    }


def make_penn_fudan(base: Path, count: int = 10) -> dict:
    """``base/PennFudanPed/{PNGImages, PedMasks, Annotation}``: image k has k % 3 + 1 pedestrians,
    rectangles of instance ids 1, 2, ... in ``*_mask.png``."""
    root = base / "PennFudanPed"
    names, instances = [], {}
    rng = np.random.default_rng(0)
    for k in range(count):
        stem = f"FudanPed{k + 1:05d}" if k < count // 2 else f"PennPed{k + 1:05d}"
        h, w = 50 + k, 70
        _png(root / "PNGImages" / f"{stem}.png", rng.integers(0, 256, (h, w, 3)))
        ids = np.zeros((h, w), dtype=np.uint8)
        for p in range(k % 3 + 1):
            ids[5 + p : 30 + p, 3 + 20 * p : 15 + 20 * p] = p + 1
        _png(root / "PedMasks" / f"{stem}_mask.png", ids)
        (root / "Annotation").mkdir(parents=True, exist_ok=True)
        (root / "Annotation" / f"{stem}.txt").write_text(
            f'# Compatible with PASCAL Annotation Version 1.00\nImage filename : "PennFudanPed/PNGImages/{stem}.png"\n'
        )
        names.append(stem)
        instances[stem] = ids
    return {"names": names, "instances": instances}


def make_voc2012(base: Path) -> dict:
    """``base/VOCdevkit/VOC2012/{JPEGImages, Annotations, SegmentationClass, ImageSets/...}``:
    11 train images and 3 val images with two objects each (a person and a dog; the second
    marked difficult) and class masks with a void (255) outline."""
    root = base / "VOCdevkit" / "VOC2012"
    palette = voc_palette(256)
    sets = {"train": [f"2007_{i:06d}" for i in range(11)], "val": [f"2008_{i:06d}" for i in range(3)]}
    samples = {}
    for split, names in sets.items():
        for k, stem in enumerate(names):
            h, w = 60 + k, 80
            _flat_jpeg(root / "JPEGImages" / f"{stem}.jpg", h, w, (5 * k, 50, 90))
            person = (3, 4, 20 + k, 40)  # at most 28 x 37 pixels here
            dog = (30, 10, 70, 50)  # 41 x 41 pixels: always the largest object
            (root / "Annotations").mkdir(parents=True, exist_ok=True)
            (root / "Annotations" / f"{stem}.xml").write_text(
                _voc_xml(f"{stem}.jpg", h, w, [("person", person, 0), ("dog", dog, 1)])
            )
            semantic = np.zeros((h, w), dtype=np.uint8)
            semantic[3:40, 2 : 20 + k] = VOID
            semantic[4:39, 3 : 19 + k] = 15  # person
            semantic[9:50, 29:70] = 12  # dog
            _png(root / "SegmentationClass" / f"{stem}.png", semantic, palette)
            samples[stem] = {"size": (h, w), "person": person, "dog": dog, "semantic": semantic}
        (root / "ImageSets" / "Segmentation").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(names) + "\n")
        (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(names) + "\n")
    return {"sets": sets, "samples": samples}


def tar_folder(folder: Path, archive: Path, arcname: str, mode: str = "w:gz") -> bytes:
    """Pack ``folder`` as ``arcname`` into a tar archive; returns its bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        tar.add(folder, arcname=arcname)
    archive.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def zip_folder(folder: Path, archive: Path, arcname: str) -> bytes:
    """Pack ``folder`` as ``arcname`` into a zip archive; returns its bytes."""
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            z.write(path, Path(arcname) / path.relative_to(folder))
    return archive.read_bytes()
