"""cvlearn.recipes.counting: the configuration, what it reads of toy-crowd (points, counts and
boxes, never masks), the data it trains on (density maps that sum to the counts, flips that move
picture and map together, detector boxes without hidden people), the threshold chosen for counting
detections, and a quick run of the recipe."""

import math

import pytest
import torch

from cvlearn.models import DensityNet
from cvlearn.recipes import RECIPES, counting
from cvlearn.recipes.counting import (
    CONFIG,
    CROWD_KEYS,
    QUICK,
    CountingConfig,
    CrowdBoxes,
    CrowdSplit,
    DensityPairs,
    crowd_split,
    density_loss,
    density_targets,
    make_loader,
    threshold_for_counts,
)


def _split(n: int = 3, size: int = 32) -> CrowdSplit:
    """A made-up crowd split: random pictures, a few heads each, one person hidden entirely."""
    generator = torch.Generator().manual_seed(0)
    points = [torch.rand(k, 2, generator=generator) * size for k in (2, 5, 1)[:n]]
    boxes = [torch.cat([p - 1, p + 1], dim=1) for p in points]
    boxes[1][0] = torch.tensor([4.0, 4.0, 4.0, 9.0])  # hidden: an empty box
    return CrowdSplit(
        images=torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=generator),
        points=points,
        counts=torch.tensor([float(len(p)) for p in points]),
        boxes=boxes,
        categories=("background", "person"),
    )


def test_config_builds_its_network():
    model = CONFIG.build_model()
    assert isinstance(model, DensityNet) and model.stride == CONFIG.stride
    assert CONFIG.dataset == "toy-crowd" and CONFIG.fit_options()["epochs"] == CONFIG.epochs
    assert QUICK.widths == CONFIG.widths  # the quick run trains the notebook's network
    assert CONFIG.as_dict()["sigma"] == CONFIG.sigma


def test_crowd_split_reads_points_counts_and_boxes_but_never_builds_a_mask(small, monkeypatch):
    ds = small("toy-crowd", "val", n=6)
    built = []
    annotation = ds._annotation

    def spy(key, *args):
        built.append(key)
        return annotation(key, *args)

    monkeypatch.setattr(ds, "_annotation", spy)
    split = crowd_split(ds)
    assert set(built) == set(CROWD_KEYS) and "masks" not in built  # a crowd's masks: ~5 MB a picture
    monkeypatch.undo()
    assert len(split) == 6 and split.images is ds.images and split.categories == ("background", "person")
    for i in range(len(ds)):
        whole = ds.target(i)
        assert torch.equal(split.points[i], whole["points"]) and split.counts[i] == whole["count"]
        assert torch.equal(split.boxes[i], whole["boxes"].float()) and type(split.boxes[i]) is torch.Tensor


def test_crowd_split_refuses_a_dataset_without_head_points(small):
    with pytest.raises(ValueError, match="dataset must be a toy dataset with head points.*toy-pets"):
        crowd_split(small("toy-pets", "val", n=4))


def test_density_targets_sum_to_the_counts():
    split = _split()
    maps = density_targets(split, CONFIG)
    assert maps.shape == (3, 1, 32 // CONFIG.stride, 32 // CONFIG.stride)
    assert maps.sum(dim=(1, 2, 3)).tolist() == pytest.approx(split.counts.tolist(), abs=1e-4)


def test_pairs_flip_picture_and_map_together_and_loader_batches():
    split = _split()
    maps = density_targets(split, CONFIG)
    pairs = DensityPairs(split.images, maps, flip=True)
    torch.manual_seed(0)
    flipped = 0
    for _ in range(20):
        image, density = pairs[1]
        same = torch.equal(density, maps[1])
        assert same or torch.equal(density, maps[1].flip(-1))
        assert torch.equal(image, (split.images[1] if same else split.images[1].flip(-1)).float() / 255)
        flipped += not same
    assert 0 < flipped < 20
    with pytest.raises(ValueError, match="must match"):
        DensityPairs(split.images, maps[:2])
    images, density = next(iter(make_loader(split, CountingConfig(batch_size=2))))
    assert images.shape == (2, 3, 32, 32) and density.shape == (2, 1, 8, 8)


def test_loss_adds_the_count_term_when_weighted():
    target = torch.zeros(2, 1, 4, 4)
    predicted = torch.full((2, 1, 4, 4), 0.5)
    assert density_loss(CountingConfig())(predicted, target).item() == pytest.approx(0.25)
    assert density_loss(CountingConfig(count_weight=0.1))(predicted, target).item() == pytest.approx(0.25 + 0.8)


def test_detector_boxes_leave_hidden_people_out_and_flip():
    boxes = CrowdBoxes(_split(), flip=True)
    assert [len(t["boxes"]) for t in boxes.targets] == [2, 4, 1]
    torch.manual_seed(1)
    seen = {tuple(boxes[2][1]["boxes"][0].tolist()) for _ in range(20)}
    assert len(seen) == 2  # as drawn, and mirrored


def test_threshold_matches_the_counts():
    scores = [torch.tensor([0.9, 0.8, 0.3]), torch.tensor([0.95, 0.2])]
    threshold = threshold_for_counts(scores, torch.tensor([2.0, 1.0]))
    assert 0.3 < threshold <= 0.8


def test_quick_recipe_learns_and_reports_the_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    result = RECIPES["counting"](quick=True, progress=False)
    assert result.recipe == "counting"
    assert set(result.metrics) == {"count_mae", "count_rmse", "detection_count_mae", "mean_count"}
    assert all(math.isfinite(v) and v >= 0 for v in result.metrics.values())
    assert 20 <= result.metrics["mean_count"] <= 300
    assert result.train_s > 0 and result.train_images > 0 and result.params > 0
    assert result.config["detection"]["train_s"] > 0
    # trained, it counts better than the same network untrained
    untrained = counting.evaluate(_untrained(), counting.load_splits("toy-crowd", quick=True, progress=False)["test"])
    assert result.metrics["count_mae"] < untrained["count_mae"]


def _untrained() -> DensityNet:
    torch.manual_seed(0)
    return QUICK.build_model()
