"""cvlearn.recipes.localisation: the configuration, the evaluator and a quick run."""

import pytest
import torch
import torch.nn.functional as F

from cvlearn.models.localisation import main_boxes
from cvlearn.recipes import RECIPES
from cvlearn.recipes import localisation as recipe


def test_recipe_is_registered_and_runs_quickly(data_root, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(data_root))
    result = RECIPES["localisation"](quick=True, progress=False)
    assert result.recipe == "localisation"
    assert set(result.metrics) == {"accuracy", "mean_iou", "iou50", "hit50"}
    assert all(0.0 <= v <= 1.0 for v in result.metrics.values())
    assert result.train_s > 0 and result.params == sum(p.numel() for p in result.model.parameters())
    assert result.config["widths"] == recipe.QUICK.widths
    assert "val_mean_iou" in result.history.keys()  # noqa: SIM118 (History is not a dict)
    again = RECIPES["localisation"](quick=True, progress=False)
    assert again.metrics == result.metrics  # same seed, same scores


def test_config_builds_what_it_describes(small):
    train = small("toy-pets", "train", n=20)
    model = recipe.CONFIG.build_model(train)
    assert model.widths == recipe.CONFIG.widths and model.grid == recipe.CONFIG.grid
    assert recipe.CONFIG.fit_options()["epochs"] == recipe.CONFIG.epochs
    loss = recipe.CONFIG.make_loss()
    assert (loss.l1_weight, loss.giou_weight, loss.beta) == (
        recipe.CONFIG.l1_weight,
        recipe.CONFIG.giou_weight,
        recipe.CONFIG.beta,
    )
    train_loader, val_loader = recipe.make_loaders(train, small("toy-pets", "val", n=10), recipe.QUICK)
    images, targets = next(iter(train_loader))
    assert images.shape == (recipe.QUICK.batch_size if len(train) > recipe.QUICK.batch_size else 20, 3, 64, 64)
    assert targets["boxes"].shape == (len(images), 4) and targets["labels"].shape == (len(images),)
    assert len(val_loader.dataset) == 10


def test_evaluate_scores_a_perfect_localiser_as_perfect(small):
    ds = small("toy-pets", "val", n=12)
    boxes = main_boxes(ds)

    class Oracle(torch.nn.Module):
        """Knows the answers: looks each picture up and returns its class and box."""

        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(()))

        def forward(self, images):
            index = [next(i for i in range(len(ds)) if torch.equal(ds.images[i], img)) for img in images]
            logits = F.one_hot(ds.targets[index], 2).float() * 10
            return {"logits": logits, "boxes": boxes[index] / 64}

    scores, predictions = recipe.evaluate(Oracle(), ds)
    assert scores == {"accuracy": 1.0, "mean_iou": pytest.approx(1.0), "iou50": 1.0, "hit50": 1.0}
    assert torch.allclose(predictions["boxes"], boxes)
