"""cvlearn.data.toy: the toy datasets' samples, their cache (corrupt, truncated, interrupted) and
their arguments."""

import hashlib
import json

import numpy as np
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from cvlearn import data, toyworld
from cvlearn.data import toy
from tests.conftest import ALL_DATASETS


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_sample_format(small, name):
    ds = small(name)
    image, target = ds[3]
    size = toyworld.SPECS[name].size
    assert isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8 and image.shape == (3, size, size)
    assert isinstance(target["boxes"], tv_tensors.BoundingBoxes) and target["boxes"].format.name == "XYXY"
    assert target["labels"].dtype == torch.int64 and len(target["labels"]) == len(target["boxes"])
    assert isinstance(target["masks"], tv_tensors.Mask) and target["masks"].dtype == torch.bool
    assert target["masks"].shape == (len(target["labels"]), size, size)
    assert target["masks"].sum(0).max() <= 1, "instance masks are disjoint"
    assert isinstance(target["semantic"], tv_tensors.Mask) and target["semantic"].dtype == torch.int64
    assert 0 <= target["label"] < len(ds.classes) and target["image_id"] == 3


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_masks_boxes_and_semantic_agree(small, name):
    ds = small(name)
    for i in range(0, len(ds), 7):
        _, t = ds[i]
        for mask, box, label in zip(t["masks"], t["boxes"], t["labels"]):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            if not len(xs):  # a crowd's person hidden whole: counted, with an empty box
                assert box.tolist() == [0, 0, 0, 0]
                continue
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            cls = ds.categories[label]
            assert (t["semantic"][mask] == ds.semantic_classes.index(cls)).all()


def test_same_seed_gives_identical_files(tmp_path):
    a = data.build_split("toy-pens", "val", 96, 12, 5, tmp_path / "a", progress=False)
    b = data.build_split("toy-pens", "val", 96, 12, 5, tmp_path / "b", progress=False)
    assert a.read_bytes() == b.read_bytes()
    c = data.build_split("toy-pens", "val", 96, 12, 6, tmp_path / "c", progress=False)
    assert np.load(a)["images"].tobytes() != np.load(c)["images"].tobytes()


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_splits_never_share_a_scene(small, name):
    digests = {}
    for split in ("train", "val", "test"):
        ds = small(name, split, n=40)
        digests[split] = {hashlib.sha256(img.numpy().tobytes()).hexdigest() for img in ds.images}
    assert not digests["train"] & digests["val"]
    assert not digests["train"] & digests["test"]
    assert not digests["val"] & digests["test"]


def test_second_load_reads_the_cache(tmp_path, monkeypatch):
    first = data.load("toy-pets", "val", root=tmp_path, n=10, progress=False)
    monkeypatch.setattr(toy, "render_split", lambda *a, **k: pytest.fail("rendered again"))
    second = data.load("toy-pets", "val", root=tmp_path, n=10, progress=False)
    assert torch.equal(first.images, second.images)


def test_corrupt_cache_is_detected_and_rebuilt(tmp_path, capsys):
    ds = data.load("toy-fruit", "test", root=tmp_path, n=8, progress=False)
    arrays, manifest = data.cache_paths("toy-fruit", "test", 96, 8, 0, tmp_path)
    raw = bytearray(arrays.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    arrays.write_bytes(bytes(raw))
    assert "checksum" in data.verify_split("toy-fruit", "test", 96, 8, 0, tmp_path)
    again = data.load("toy-fruit", "test", root=tmp_path, n=8, progress=False)
    assert "rebuilding" in capsys.readouterr().out
    assert torch.equal(ds.images, again.images)
    assert data.verify_split("toy-fruit", "test", 96, 8, 0, tmp_path) is None
    assert json.loads(manifest.read_text())["sha256"] == data.sha256(arrays)


def test_truncated_cache_and_missing_manifest_are_rebuilt(tmp_path):
    data.load("toy-pets", "test", root=tmp_path, n=5, progress=False)
    arrays, manifest = data.cache_paths("toy-pets", "test", 64, 5, 0, tmp_path)
    arrays.write_bytes(arrays.read_bytes()[:100])
    manifest.unlink()
    assert data.verify_split("toy-pets", "test", 64, 5, 0, tmp_path) == "not built yet"
    ds = data.load("toy-pets", "test", root=tmp_path, n=5, progress=False)
    assert len(ds) == 5 and data.verify_split("toy-pets", "test", 64, 5, 0, tmp_path) is None


def test_interrupted_build_leaves_no_half_cache(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", lambda f, **arrays: (f.write(b"half"), explode()))
    with pytest.raises(KeyboardInterrupt):
        data.load("toy-pets", "val", root=tmp_path, n=4, progress=False)
    folder = tmp_path / "toy-pets"
    assert [p for p in folder.rglob("*") if p.is_file()] == []


def test_verify_reports_each_cached_split(tmp_path):
    data.load("toy-pets", "val", root=tmp_path, n=4, progress=False)
    data.load("toy-pets", "test", root=tmp_path, n=4, progress=False)
    report = data.verify("toy-pets", root=tmp_path)
    assert len(report) == 2 and all(p is None for p in report.values())


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"name": "toy-cats"}, ValueError, "unknown dataset name 'toy-cats'"),
        ({"name": 3}, TypeError, "name must be"),
        ({"split": "training"}, ValueError, "split must be one of"),
        ({"size": 8}, ValueError, "size must be between 32 and 512, got 8"),
        ({"size": "64"}, TypeError, "size must be an int, got str"),
        ({"size": 64.0}, TypeError, "size must be an int"),
        ({"n": 0}, ValueError, "n must be at least 1, got 0"),
        ({"seed": -1}, ValueError, "seed must be at least 0"),
    ],
)
def test_bad_arguments_get_clear_errors(tmp_path, kwargs, error, words):
    args = {"name": "toy-pets", "split": "val", "root": tmp_path, "n": 2, "progress": False, **kwargs}
    with pytest.raises(error, match=words):
        data.load(**args)


def test_index_out_of_range(small):
    ds = small("toy-pets")
    with pytest.raises(IndexError, match="out of range"):
        ds[len(ds)]


def test_transforms_apply_to_image_and_target_together(tmp_path):
    ds = data.load("toy-fruit", "val", root=tmp_path, n=3, progress=False, transforms=v2.RandomHorizontalFlip(p=1.0))
    plain = data.load("toy-fruit", "val", root=tmp_path, n=3, progress=False)
    (img, t), (img0, t0) = ds[0], plain[0]
    assert torch.equal(img, img0.flip(-1))
    assert torch.equal(t["masks"], t0["masks"].flip(-1))
    w = plain.size
    assert torch.allclose(t["boxes"][:, [0, 2]], w - t0["boxes"][:, [2, 0]])


def test_scene_regenerates_the_description(small):
    ds = small("toy-pens", "val", n=5)
    scene = ds.scene(2)
    assert len(scene.things) == len(ds[2][1]["labels"])


def test_street_targets_carry_keypoints_and_panoptic(small):
    ds = small("toy-street", "val", n=8)
    for i in range(len(ds)):
        _, t = ds[i]
        n = len(t["labels"])
        assert t["keypoints"].shape == (n, len(ds.spec.keypoints), 3) and t["keypoints"].dtype == torch.float32
        assert set(t["keypoints"][..., 2].unique().tolist()) <= {0.0, 1.0, 2.0}
        pan = t["panoptic"]
        assert isinstance(pan, tv_tensors.Mask) and pan.dtype == torch.int64
        assert torch.equal(pan // toyworld.PANOPTIC_DIVISOR, t["semantic"])
        for k, mask in enumerate(t["masks"], start=1):
            assert ((pan % toyworld.PANOPTIC_DIVISOR == k) == mask).all()
        _, out = toyworld.generate("toy-street", "val", i)
        assert np.array_equal(t["keypoints"].numpy(), out.keypoints)


def test_crowd_targets_carry_points_and_count(small):
    ds = small("toy-crowd", "val", n=6)
    for i in range(len(ds)):
        _, t = ds[i]
        assert t["count"] == len(t["points"]) == len(t["labels"]) == len(t["masks"]) >= 20
        assert t["points"].dtype == torch.float32 and t["points"].shape[1] == 2
        assert t["masks"].sum(0).max() <= 1
    assert "keypoints" not in ds[0][1] and "points" not in small("toy-pets")[0][1]


def test_older_datasets_cache_only_their_own_arrays(tmp_path):
    path = data.build_split("toy-fruit", "val", 96, 3, 0, tmp_path, progress=False)
    assert sorted(np.load(path).files) == sorted(toy._ARRAYS)
    path = data.build_split("toy-street", "val", 64, 3, 0, tmp_path, progress=False)
    assert sorted(np.load(path).files) == sorted((*toy._ARRAYS, "keypoints"))


@pytest.mark.parametrize("name", ["toy-crowd", "toy-street", "toy-pets"])
def test_target_keys_list_every_key_in_order(small, name):
    ds = small(name, "val", n=4)
    assert list(ds.target(1)) == list(ds.target_keys) == list(ds[1][1])


@pytest.mark.parametrize(("name", "keys"), [("toy-crowd", ("count", "boxes", "points")), ("toy-street", ("panoptic",))])
def test_target_builds_only_the_keys_asked_for(small, name, keys):
    ds = small(name, "val", n=4)
    for i in range(len(ds)):
        whole, some = ds.target(i), ds.target(i, keys=keys)
        assert tuple(some) == keys, "only the keys asked for, in the order asked"
        for key in keys:
            assert type(some[key]) is type(whole[key])
            assert some[key] == whole[key] if key == "count" else torch.equal(some[key], whole[key])


def test_target_keys_that_do_not_exist_get_clear_errors(small):
    with pytest.raises(ValueError, match=r"keys must be among \[.*'image_id'\] for toy-pets, got \['points'\]"):
        small("toy-pets", "val", n=4).target(0, keys=("boxes", "points"))
    with pytest.raises(ValueError, match="keys must be a collection of target keys.*got the string 'count'"):
        small("toy-crowd", "val", n=4).target(0, keys="count")
