import json

import numpy as np
import torch
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from torchvision.datasets import ImageFolder

from cvlearn import formats


def test_imagefolder_export_reads_back_equal(small, tmp_path):
    ds = small("toy-pets", "val", n=12)
    formats.export(ds, tmp_path, progress=False)
    folder = ImageFolder(str(tmp_path))
    assert folder.classes == sorted(ds.classes)
    for path, label in folder.samples:
        index = int(path.split("/")[-1][:-4])
        assert folder.classes[label] == ds.classes[int(ds.targets[index])]
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), ds.images[index].permute(1, 2, 0).numpy())


def test_coco_export_reads_back_equal(small, tmp_path):
    ds = small("toy-fruit", "val", n=10)
    formats.export(ds, tmp_path, progress=False)
    coco = COCO(str(tmp_path / "annotations.json"))
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == set(ds.classes)
    for i in range(len(ds)):
        image, target = ds[i]
        info = coco.loadImgs(i)[0]
        png = np.asarray(Image.open(tmp_path / "images" / info["file_name"]))
        assert np.array_equal(png, image.permute(1, 2, 0).numpy())
        anns = coco.loadAnns(coco.getAnnIds(imgIds=i))
        assert len(anns) == len(target["labels"])
        for ann, mask, box, label in zip(anns, target["masks"], target["boxes"], target["labels"]):
            assert np.array_equal(coco.annToMask(ann).astype(bool), mask.numpy())
            x, y, w, h = ann["bbox"]
            assert [x, y, x + w, y + h] == box.tolist()
            assert ann["category_id"] == int(label)
            assert list(mask_utils.toBbox(ann["segmentation"])) == ann["bbox"]


def test_voc_export_reads_back_equal(small, tmp_path):
    ds = small("toy-pasture", "val", n=6)
    formats.export(ds, tmp_path, progress=False)
    assert (tmp_path / "classes.txt").read_text().split() == list(ds.semantic_classes)
    for i in range(len(ds)):
        _, target = ds[i]
        cls = Image.open(tmp_path / "SegmentationClass" / f"{i:05d}.png")
        assert cls.mode == "P"
        assert np.array_equal(np.asarray(cls), target["semantic"].numpy())
        assert cls.getpalette()[: 3 * len(ds.palette)] == ds.palette.ravel().tolist()
        obj = np.asarray(Image.open(tmp_path / "SegmentationObject" / f"{i:05d}.png"))
        for k, mask in enumerate(target["masks"], start=1):
            assert np.array_equal(obj == k, mask.numpy())


def test_unknown_format_is_a_clear_error(small, tmp_path):
    import pytest

    with pytest.raises(ValueError, match="fmt must be one of"):
        formats.export(small("toy-pets", "val", n=12), tmp_path, fmt="yolo")


def test_coco_ground_truth_areas_count_mask_pixels():
    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, 2:5, 1:3] = True
    gt = formats.coco_ground_truth(
        [{"image_id": 4, "boxes": torch.tensor([[1.0, 2.0, 3.0, 5.0]]), "labels": torch.tensor([2]), "masks": masks}],
        ["background", "a", "b"],
        (8, 8),
    )
    ann = gt["annotations"][0]
    assert ann["area"] == 6 and ann["bbox"] == [1.0, 2.0, 2.0, 3.0] and ann["image_id"] == 4
    assert json.dumps(gt)


def test_coco_keypoint_export_reads_back_equal(small, tmp_path):
    ds = small("toy-street", "val", n=6)
    formats.export(ds, tmp_path, progress=False)
    coco = COCO(str(tmp_path / "person_keypoints.json"))
    person = coco.loadCats(coco.getCatIds(catNms=["person"]))[0]
    assert person["keypoints"] == list(ds.spec.keypoints)
    assert person["skeleton"] == [[a + 1, b + 1] for a, b in ds.spec.skeleton]
    for i in range(len(ds)):
        _, target = ds[i]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=i))
        for ann, kp in zip(anns, target["keypoints"]):
            assert np.allclose(np.reshape(ann["keypoints"], (-1, 3)), kp.numpy(), atol=0.01)
            assert ann["num_keypoints"] == int((kp[:, 2] > 0).sum())


def test_coco_panoptic_export_reads_back_equal(small, tmp_path):
    ds = small("toy-street", "val", n=4)
    formats.export(ds, tmp_path, fmt="coco-panoptic", progress=False)
    gt = json.loads((tmp_path / "panoptic.json").read_text())
    things = {c["id"] for c in gt["categories"] if c["isthing"]}
    assert {ds.semantic_classes[i] for i in things} == set(ds.classes)
    for ann in gt["annotations"]:
        _, target = ds[ann["image_id"]]
        ids = formats.id_from_rgb(np.asarray(Image.open(tmp_path / "panoptic" / ann["file_name"])))
        pan = target["panoptic"].numpy()
        assert np.array_equal(ids, pan)
        assert {s["id"] for s in ann["segments_info"]} == set(np.unique(pan).tolist()) - {0}
        for seg in ann["segments_info"]:
            assert seg["area"] == int((ids == seg["id"]).sum())
            assert seg["category_id"] == seg["id"] // 1000 and seg["isthing"] == (seg["category_id"] in things)
        assert len([s for s in ann["segments_info"] if s["isthing"]]) == len(target["labels"])
