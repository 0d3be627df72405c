"""cvlearn.recipes.panoptic: the configuration and its checks, the classes of toy-street's panoptic
maps, the merge of semantic maps and instances, and one quick run of the recipe."""

import math
from dataclasses import replace

import pytest
import torch

from cvlearn import data
from cvlearn.models.instance import maskrcnn
from cvlearn.recipes import RECIPES, RecipeModule
from cvlearn.recipes import panoptic as panoptic_recipe
from cvlearn.recipes.panoptic import (
    CONFIG,
    QUICK,
    QUICK_SIZES,
    STUFF,
    PanopticConfig,
    build_model,
    merge_all,
    panoptic_classes,
    predict_panoptic,
)

METRICS = {"pq", "sq", "rq", "pq_things", "pq_stuff", "merge_ms_per_image"}


@pytest.fixture(scope="module")
def quick_run():
    """The quick recipe, run once for the module (its data go to the session's temporary folder)."""
    return RECIPES["panoptic"](quick=True, progress=False)


def test_config_trains_both_models_on_toy_street_at_one_size():
    assert RECIPES["panoptic"] is panoptic_recipe.panoptic and isinstance(panoptic_recipe, RecipeModule)
    assert isinstance(CONFIG, PanopticConfig) and isinstance(QUICK, PanopticConfig)
    assert CONFIG.unet.dataset == CONFIG.maskrcnn.dataset == "toy-street"
    assert CONFIG.unet.model == "unet" and CONFIG.image_size in (96, 128)
    assert CONFIG.maskrcnn.settings.image_size == CONFIG.image_size
    assert QUICK.maskrcnn.settings == CONFIG.maskrcnn.settings and QUICK_SIZES["train"] <= 100
    assert set(CONFIG.as_dict()) >= {"image_size", "unet", "maskrcnn", "score_thresh", "overlap_thresh"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image_size": 20}, "image_size must be an int from 32 to 512"),
        ({"image_size": 96}, r"maskrcnn.settings.image_size must equal image_size \(96\), got 128"),
        ({"score_thresh": 1.5}, r"score_thresh must lie in \[0, 1\], got 1.5"),
        ({"overlap_thresh": -0.1}, "overlap_thresh must lie"),
        ({"min_stuff_area": -1}, "min_stuff_area must be"),
        ({"unet_pictures": 0}, "unet_pictures must be a positive"),
        ({"val_pictures": 0}, "val_pictures must be a positive"),
    ],
)
def test_bad_config_raises_a_clear_error(change, message):
    with pytest.raises(ValueError, match=message):
        replace(CONFIG, **change)


def test_classes_map_labels_to_semantic_classes_and_leave_background_void():
    spec = data.registry.get("toy-street")
    things, stuff = panoptic_classes(spec)
    assert [spec.semantic_classes[c] for c in things] == list(spec.categories[1:]) == ["person", "car"]
    assert [spec.semantic_classes[c] for c in stuff] == list(STUFF)
    assert 0 not in things + stuff  # background is void, as in the dataset's panoptic targets


def test_merge_all_pastes_instances_over_stuff_and_times_the_merge():
    classes = torch.full((2, 16, 16), 2, dtype=torch.int64)  # road everywhere
    classes[1, :8] = 1  # sky above
    mask = torch.zeros(1, 16, 16, dtype=torch.bool)
    mask[0, 4:12, 4:8] = True
    found = [
        {"masks": mask, "scores": torch.tensor([0.9]), "labels": torch.tensor([1])},
        {"masks": mask, "scores": torch.tensor([0.2]), "labels": torch.tensor([2])},  # under the threshold
    ]
    maps, ms = merge_all(classes, found, [5, 6], [1, 2, 3, 4], replace(CONFIG, min_stuff_area=4))
    assert ms > 0 and all(m.shape == (16, 16) and m.dtype == torch.int64 for m in maps)
    assert torch.equal(maps[0][mask[0]], torch.full((32,), 5001))
    assert set(maps[0][~mask[0]].tolist()) == {2000}
    assert set(maps[1].unique().tolist()) == {1000, 2000}
    with pytest.raises(ValueError, match="one entry per picture, got 2 and 1"):
        merge_all(classes, found[:1], [5, 6], [1, 2, 3, 4], CONFIG)


def test_predict_panoptic_gives_int64_maps_of_valid_classes(small):
    images = small("toy-street", "test", n=3).images
    torch.manual_seed(0)
    model = build_model(QUICK)
    assert isinstance(model.maskrcnn, type(maskrcnn(3, settings=CONFIG.maskrcnn.settings)))
    maps = predict_panoptic(model, images, CONFIG)
    assert len(maps) == 3
    for m in maps:
        assert m.shape == images.shape[-2:] and m.dtype == torch.int64
        classes, instances = m // 1000, m % 1000
        assert set(classes.unique().tolist()) <= {0, 1, 2, 3, 4, 5, 6}
        assert (instances[classes <= 4] == 0).all()  # void and stuff carry no instance number
    with pytest.raises(ValueError, match=r"images must be an \(N, 3, H, W\) tensor"):
        predict_panoptic(model, images[0], CONFIG)
    with pytest.raises(ValueError, match="model must be a PanopticModel"):
        predict_panoptic(model.unet, images, CONFIG)


def test_quick_recipe_reports_the_schema_and_learns(quick_run):
    assert quick_run.recipe == "panoptic"
    assert set(quick_run.metrics) >= METRICS
    for name in METRICS - {"merge_ms_per_image"}:
        assert math.isfinite(quick_run.metrics[name]) and 0.0 <= quick_run.metrics[name] <= 1.0, name
    assert quick_run.metrics["merge_ms_per_image"] > 0
    assert quick_run.train_s > 0 and quick_run.train_images > 0 and quick_run.params > 0
    # an untrained pair of models scores about 0.0 (see QUICK's docstring)
    assert quick_run.metrics["pq"] > 0.3
