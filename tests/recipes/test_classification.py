"""cvlearn.recipes.classification: the data pipeline, the configuration and a quick run."""

import pytest
import torch

from cvlearn.recipes import RECIPES, Result
from cvlearn.recipes import classification as recipe_module
from cvlearn.recipes.classification import CONFIG, QUICK, collate_flipped, make_loaders, random_flip


def test_random_flip_mirrors_some_pictures_exactly():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 4, 4), dtype=torch.uint8)
    flipped = random_flip(images)
    mirrored = [torch.equal(f, i.flip(-1)) for f, i in zip(flipped, images)]
    kept = [torch.equal(f, i) for f, i in zip(flipped, images)]
    assert all(m or k for m, k in zip(mirrored, kept))
    assert 16 < sum(mirrored) < 48
    batch = collate_flipped([(images[i], torch.tensor(i % 2)) for i in range(4)])
    assert batch[0].shape == (4, 3, 4, 4) and batch[1].tolist() == [0, 1, 0, 1]


def test_loaders_follow_the_config(small):
    train, val = small("toy-pets", "train", n=70), small("toy-pets", "val", n=30)
    train_loader, val_loader = make_loaders(train, val, CONFIG)
    images, labels = next(iter(train_loader))
    assert images.shape == (CONFIG.batch_size, 3, 64, 64) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    assert len(train_loader) == 70 // CONFIG.batch_size  # drop_last: BatchNorm never sees a batch of one
    assert sum(len(y) for _, y in val_loader) == 30


def test_recipe_is_registered_and_runs_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    result = RECIPES["classification"](quick=True, progress=False, checkpoint=tmp_path / "best.pt")
    assert isinstance(result, Result) and result.recipe == "classification"
    assert set(result.metrics) == {"accuracy"} and 0.0 <= result.metrics["accuracy"] <= 1.0
    assert result.train_s > 0 and result.eval_s > 0 and result.params > 0 and result.train_images > 0
    assert result.config["dataset"] == "toy-pets" and result.config["epochs"] == QUICK.epochs
    assert len(result.history.epochs) == QUICK.epochs
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == result.history.best["epoch"]


def test_recipe_repeats_itself_in_one_process(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    first, second = (RECIPES["classification"](quick=True, progress=False) for _ in range(2))
    assert first.history.step_losses == second.history.step_losses
    assert first.metrics == second.metrics


class _ConfigSeen(Exception):
    """Raised by a stand-in for ``load_splits`` to stop the recipe once it has chosen its configuration."""


@pytest.mark.parametrize("quick", [False, True])
def test_the_recipe_trains_the_notebook_configuration(quick, monkeypatch):
    # CONFIG is what notebook 01 trains: a recipe reading anything else would benchmark another model
    def record(config, *args, **kwargs):
        raise _ConfigSeen(config)

    monkeypatch.setattr(recipe_module, "load_splits", record)
    with pytest.raises(_ConfigSeen) as seen:
        RECIPES["classification"](quick=quick, progress=False)
    assert seen.value.args[0] is (QUICK if quick else CONFIG)
    assert CONFIG.dataset == "toy-pets" and CONFIG.epochs >= 1 and CONFIG.flip
