"""The stand-ins of the real datasets (``tests/standins``) have the real data's properties.

Each is written once and every sample read back once through ``cvlearn.data.load``, as a
notebook reads it, into a small summary; the tests check the summaries for what the real
downloads have and the toy world lacks: photos of many non-square sizes, every pet breed,
photos without a head box, 1 to 4 pedestrians, several VOC classes per photo with void
outlines. A second write must give the same bytes.
"""

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cvlearn import data, download
from cvlearn.realdata import VOC_CLASSES, VOID
from tests import standins

NAMES = ("oxford-pets", "penn-fudan", "voc2012")
PHOTOS = {
    "oxford-pets": "oxford-iiit-pet/images/*.jpg",
    "penn-fudan": "PennFudanPed/PNGImages/*.png",
    "voc2012": "VOCdevkit/VOC2012/JPEGImages/*.jpg",
}
FORMATS = {"oxford-pets": "JPEG", "penn-fudan": "PNG", "voc2012": "JPEG"}
SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Torch on one thread here: reading a photo takes many tiny tensor operations, which gain
    nothing from more threads and, on a busy 2-core machine, run ten times slower with them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("standins")
    for name in NAMES:
        assert standins.write(name, root) == root / name
    return root


def _load(name: str, split: str, root: Path, **kwargs):
    return data.load(name, split, root=root, progress=False, **kwargs)


def _values(tensor: torch.Tensor) -> set[int]:
    """The distinct values of a uint8-range tensor (a bincount: torch.unique sorts, far slower)."""
    return set(np.flatnonzero(np.bincount(tensor.numpy().ravel(), minlength=256)).tolist())


def _summary(image: torch.Tensor, target: dict) -> dict:
    """What the tests check of one sample, so that each photo is read once."""
    boxes = target["boxes"]
    summary = {
        "shape": tuple(image.shape[1:]),
        "label": target["label"],
        "labels": target["labels"].tolist(),
        "boxes": boxes.tolist(),
        "painted": _values(target["semantic"]),
    }
    if "breed" in target:
        pet = (target["semantic"] == target["label"] + 1).float()
        summary["breed"] = target["breed"]
        summary["head on pet"] = [pet[int(y1) : int(y2), int(x1) : int(x2)].mean().item() for x1, y1, x2, y2 in boxes]
    if "masks" in target:
        masks = target["masks"]
        summary["masks overlap"] = bool(masks.sum(dim=0).max() > 1)
        summary["semantic is the masks"] = torch.equal(target["semantic"], masks.any(dim=0).long())
        summary["heights"] = ((boxes[:, 3] - boxes[:, 1]) / image.shape[1]).tolist()
    if "difficult" in target:
        summary["difficult"] = int(target["difficult"].sum())
    return summary


@pytest.fixture(scope="module")
def read(root) -> dict[tuple[str, str], list[dict]]:
    """(name, split) -> a summary of every sample, read at the photos' own sizes."""
    return {
        (name, split): [_summary(*sample) for sample in _load(name, split, root)] for name in NAMES for split in SPLITS
    }


def _all(read: dict, name: str) -> list[dict]:
    return [summary for split in SPLITS for summary in read[name, split]]


def _digest(folder: Path) -> str:
    """One hash of every file's relative path and bytes under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_standin_is_complete_in_the_real_layout_with_the_real_file_formats(root, name):
    assert download.is_complete(name, root)
    photos = sorted((root / name).glob(PHOTOS[name]))
    with Image.open(photos[0]) as first, Image.open(photos[-1]) as last:
        assert (first.format, last.format) == (FORMATS[name], FORMATS[name])


@pytest.mark.parametrize("name", NAMES)
def test_photos_vary_in_size_and_none_is_square(read, name):
    shapes = [summary["shape"] for summary in _all(read, name)]
    assert all(h != w for h, w in shapes)
    assert min(min(shape) for shape in shapes) >= 180
    assert max(max(shape) for shape in shapes) <= 800
    assert len(set(shapes)) > len(shapes) / 2, "most photos differ in size"
    assert any(h > w for h, w in shapes) and any(w > h for h, w in shapes), "portrait and landscape photos"


def test_pets_have_all_37_breeds_with_their_real_names_ids_and_species(root, read):
    breeds = standins.oxford_pets.breeds()
    assert len(breeds) == 37
    assert Counter(species for _, _, species, _ in breeds) == {1: 12, 2: 25}
    assert breeds[:4] == [
        ("Abyssinian", 1, 1, 1),
        ("american_bulldog", 2, 2, 1),
        ("american_pit_bull_terrier", 3, 2, 2),
        ("basset_hound", 4, 2, 3),
    ]
    annotations = root / "oxford-pets" / "oxford-iiit-pet" / "annotations"
    for split, per_breed in (("trainval", 6), ("test", 2)):
        rows = [line.split() for line in (annotations / f"{split}.txt").read_text().splitlines()]
        assert len(rows) == 37 * per_breed
        assert all((species == "1") == image_id[0].isupper() for image_id, _, species, _ in rows)
    assert _load("oxford-pets", "test", root).breeds[:2] == ("Abyssinian", "American Bulldog")
    cats = {class_id - 1 for _, class_id, species, _ in breeds if species == 1}
    test = read["oxford-pets", "test"]
    assert Counter(summary["breed"] for summary in test) == {breed: 2 for breed in range(37)}
    assert all(summary["label"] == (0 if summary["breed"] in cats else 1) for summary in _all(read, "oxford-pets"))


def test_some_trainval_pets_lack_a_head_box_and_no_test_pet_has_one(read):
    trainval = read["oxford-pets", "train"] + read["oxford-pets", "val"]
    boxes = [len(summary["boxes"]) for summary in trainval]
    assert set(boxes) == {0, 1}
    assert 0.8 < sum(boxes) / len(boxes) < 1, "most trainval photos have a head box, not all"
    assert 0 in [len(summary["boxes"]) for summary in read["oxford-pets", "train"][:8]], (
        "a notebook's first 8 training photos include one without a box"
    )
    assert all(len(summary["boxes"]) == 0 for summary in read["oxford-pets", "test"])


def test_pet_trimaps_have_a_border_and_head_boxes_lie_on_the_pet(read):
    for summary in _all(read, "oxford-pets"):
        assert summary["painted"] == {0, summary["label"] + 1, VOID}
        assert all(fraction > 0.5 for fraction in summary["head on pet"])


def test_penn_fudan_has_170_photos_with_1_to_4_pedestrians_of_varied_size(root, read):
    stems = sorted(path.stem for path in (root / "penn-fudan" / "PennFudanPed" / "PNGImages").glob("*.png"))
    assert len(stems) == 170 and stems[0] == "FudanPed00001" and stems[-1] == "PennPed00096"
    samples = _all(read, "penn-fudan")
    assert Counter(len(summary["boxes"]) for summary in samples).keys() == {1, 2, 3, 4}
    assert not any(summary["masks overlap"] for summary in samples)
    assert all(summary["semantic is the masks"] for summary in samples)
    heights = [height for summary in samples for height in summary["heights"]]
    assert min(heights) < 0.5 and max(heights) > 0.8
    text = (root / "penn-fudan" / "PennFudanPed" / "Annotation" / "FudanPed00001.txt").read_text()
    assert "Bounding box for object 1" in text and "PedMasks/FudanPed00001_mask.png" in text


def test_voc_lists_are_in_the_hundreds_and_detection_lists_include_them(root, read):
    sets = root / "voc2012" / "VOCdevkit" / "VOC2012" / "ImageSets"
    names = {split: (sets / "Segmentation" / f"{split}.txt").read_text().split() for split in ("train", "val")}
    assert (len(names["train"]), len(names["val"])) == (300, 150)
    assert len(read["voc2012", "train"]) + len(read["voc2012", "val"]) == 300
    assert len(read["voc2012", "test"]) == 150
    for split in ("train", "val"):
        main = (sets / "Main" / f"{split}.txt").read_text().split()
        assert set(names[split]) < set(main), "Main also lists photos with boxes but no masks"
        flags = (sets / "Main" / f"person_{split}.txt").read_text().split()[1::2]
        assert len(flags) == len(main) and {"-1", "1"} <= set(flags)


def test_voc_photos_hold_several_objects_and_classes_with_void_outlines(read):
    samples = _all(read, "voc2012")
    assert Counter(len(summary["labels"]) for summary in samples).keys() == {1, 2, 3, 4, 5}
    several = [len(set(summary["labels"])) >= 2 for summary in samples]
    assert sum(several) > 0.3 * len(samples)
    assert set().union(*(summary["labels"] for summary in samples)) == set(range(1, len(VOC_CLASSES) + 1))
    assert sum(summary["difficult"] for summary in samples) > 10
    assert all(VOID in summary["painted"] for summary in samples)
    assert all(summary["painted"] - {0, VOID} <= set(summary["labels"]) for summary in samples)


@pytest.mark.parametrize("name", NAMES)
def test_standins_load_at_a_fixed_size_as_whole_tensors(root, name):
    dataset = _load(name, "train", root, size=96, n=16)
    assert dataset.images.shape == (16, 3, 96, 96)
    assert dataset.semantic_masks.shape == (16, 96, 96)
    image, target = dataset[3]
    assert image.shape == (3, 96, 96) and target["boxes"].shape[1] == 4
    if name != "penn-fudan":
        assert (dataset.semantic_masks == VOID).any()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_the_same_bytes(root, name, tmp_path):
    assert _digest(standins.write(name, tmp_path)) == _digest(root / name)
