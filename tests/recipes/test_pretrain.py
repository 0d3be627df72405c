"""cvlearn.recipes.pretrain: the crops of every toy object, the course backbone's training, and
its cache (trained once, then read back)."""

import pytest
import torch

from cvlearn import weights
from cvlearn.models import BackboneClassifier
from cvlearn.recipes import RECIPES, pretrain
from cvlearn.recipes.pretrain import CONFIG, QUICK, balanced, crop_windows, object_crops, toy_objects


def test_crop_windows_are_squares_around_each_box_with_context():
    boxes = torch.tensor([[10.0, 20.0, 30.0, 30.0], [0.0, 0.0, 4.0, 8.0]])
    windows = crop_windows(boxes, context=0.25, size=48)
    sides = windows[:, 2:] - windows[:, :2]
    assert torch.allclose(sides[:, 0], sides[:, 1]) and sides[:, 0].tolist() == [30.0, 12.0]
    assert torch.allclose((windows[:, :2] + windows[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2)


def test_balanced_keeps_the_first_items_of_each_class():
    labels = torch.tensor([0, 1, 0, 0, 2, 1, 0])
    assert balanced(labels, 2).tolist() == [0, 1, 2, 4, 5]


def test_object_crops_cut_out_every_large_enough_object(small):
    fruit = small("toy-fruit", "train", n=6)
    crops, labels, names = object_crops(fruit, QUICK)
    sizes = [fruit.target(i)["boxes"] for i in range(len(fruit))]
    large = sum(int(((b[:, 2:] - b[:, :2]).amin(1) >= QUICK.min_side).sum()) for b in sizes)
    assert names == ["apple", "orange"] and crops.shape == (large, 3, QUICK.crop_size, QUICK.crop_size)
    assert crops.dtype == torch.uint8 and set(labels.tolist()) <= {0, 1}


def test_the_task_has_every_toy_object_kind():
    crops, labels, classes = toy_objects("val", QUICK, progress=False)
    assert classes == ["cat", "dog", "apple", "orange", "sheep", "pen", "person", "car"]
    counts = torch.bincount(labels, minlength=len(classes))
    assert (counts > 0).all() and counts.max() <= QUICK.val_per_class
    assert len(crops) == len(labels)


def test_the_notebook_backbone_has_the_widths_of_notebook_05s_maskrcnn():
    from cvlearn.models import SMALL

    assert CONFIG.widths == SMALL.widths and CONFIG.max_seconds <= 120


def test_backbone_is_trained_once_then_read_from_the_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    config = QUICK
    first = pretrain.backbone(config, progress=False)
    assert "trained course-backbone" in capsys.readouterr().out
    assert weights.course_status("course-backbone").manifest["config"] == pretrain.json_ready(config.as_dict())
    monkeypatch.setattr(pretrain, "train", lambda *a, **k: pytest.fail("trained again although cached"))
    second = pretrain.backbone(config, progress=False)
    assert "✓ course weights course-backbone are cached" in capsys.readouterr().out
    assert isinstance(second, BackboneClassifier)
    for key, value in first.state_dict().items():
        assert torch.equal(second.state_dict()[key], value), key


def test_another_configuration_is_trained_again(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    pretrain.backbone(QUICK, progress=False)
    trained = []
    monkeypatch.setattr(pretrain, "train", lambda *a, **k: trained.append(1) or pytest.skip("seen enough"))
    with pytest.raises(pytest.skip.Exception):
        pretrain.backbone(QUICK.__class__(**{**QUICK.as_dict(), "epochs": 2}), progress=False)
    assert trained and "another configuration" in capsys.readouterr().out


def test_recipe_is_registered():
    assert RECIPES["pretrain"] is pretrain.pretrain


@pytest.mark.training
def test_the_quick_run_tells_the_objects_apart_well_above_chance(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    result = RECIPES["pretrain"](quick=True, progress=False)
    assert set(result.metrics) == {"object_accuracy"} and result.train_s > 0 and result.params > 0
    assert result.metrics["object_accuracy"] >= 0.25, result.metrics  # chance is 1/8
    assert not weights.available("course-backbone")  # a quick run never replaces the cached backbone
