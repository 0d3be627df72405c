"""cvlearn.recipes.instance: real-photo training data, augmentation, the evaluation schedule, time
to mask AP and quick runs."""

from dataclasses import replace

import pytest
import torch
from torch import nn
from torchvision import tv_tensors

from cvlearn import data, system, weights
from cvlearn.models.instance import (
    maskrcnn,
    maskrcnn_stock,
)
from cvlearn.recipes import RECIPES
from cvlearn.recipes.instance import (
    CONFIG,
    REAL_CONFIG,
    KeptInMemory,
    MaskAPWatch,
    RandomTranspose,
    TimeToTarget,
    augmentation,
    evaluate,
    speedup,
    time_to_mask_ap,
    train_loader,
)
from cvlearn.train import History, TimeBudget, TrainingState
from tests.fakedata import make_penn_fudan


def test_evaluate_switches_maskness_for_one_evaluation_and_restores_it(small):
    ds = small("toy-pens", "val", n=3)
    torch.manual_seed(0)
    model = maskrcnn(2)
    seen = []
    original = model.transform.postprocess

    def recording(*args, **kwargs):
        seen.append(model.transform.maskness)
        return original(*args, **kwargs)

    model.transform.postprocess = recording
    evaluate(model, ds, batch_size=3, maskness=False)
    assert seen == [False] and model.transform.maskness is True
    evaluate(model, ds, batch_size=3)
    assert seen == [False, True]
    with pytest.raises(ValueError, match="no maskness stage"):
        evaluate(maskrcnn_stock(2), ds, maskness=False)


@pytest.fixture
def pedestrians(tmp_path):
    """Penn-Fudan's fake (10 photos of varied sizes, 1 to 3 pedestrians each) at 96 px."""
    make_penn_fudan(tmp_path / "penn-fudan")
    return data.load("penn-fudan", "train", root=tmp_path, size=96, progress=False), tmp_path


def test_real_photos_are_read_once_for_training_and_augmented_at_every_draw(pedestrians):
    photos, root = pedestrians
    calls = []

    def mirror_every_other(image, target):
        calls.append(len(calls))
        return (image.flip(-1), target) if len(calls) % 2 else (image, target)

    photos.transforms = mirror_every_other
    loader = train_loader(photos, replace(CONFIG, batch_size=2, images_per_epoch=len(photos)))
    assert isinstance(loader.dataset, KeptInMemory) and not calls
    for png in (root / "penn-fudan" / "PennFudanPed" / "PNGImages").glob("*.png"):
        png.unlink()  # from here on, reading a photo from disk would fail
    batches = list(loader)
    assert len(batches) == len(photos) // 2 and len(calls) == 2 * len(batches)
    images, targets = batches[0]
    assert images[0].shape == (3, 96, 96) and targets[0]["masks"].shape[1:] == (96, 96)
    kept = loader.dataset
    assert torch.equal(kept[0][0], kept.samples[0][0].flip(-1)) and torch.equal(kept[0][0], kept.samples[0][0])


def test_upright_augmentation_only_mirrors(pedestrians):
    photos, _ = pedestrians
    image, target = photos[0]
    torch.manual_seed(0)
    outcomes = set()
    for _ in range(12):
        aug_image, aug = augmentation(upright=True)(image, target)
        mirrored = torch.equal(aug_image, image.flip(-1))
        assert mirrored or torch.equal(aug_image, image)
        assert torch.equal(aug["masks"], target["masks"].flip(-1) if mirrored else target["masks"])
        assert torch.equal(aug["boxes"][:, [1, 3]], target["boxes"][:, [1, 3]])  # heads stay up
        outcomes.add(mirrored)
    assert outcomes == {True, False}


def test_real_photo_configuration_is_the_same_model_trained_shorter():
    steps = REAL_CONFIG.epochs * REAL_CONFIG.images_per_epoch // REAL_CONFIG.batch_size
    assert REAL_CONFIG.settings == CONFIG.settings and REAL_CONFIG.dataset == "penn-fudan"
    assert steps <= 0.4 * CONFIG.epochs * CONFIG.images_per_epoch // CONFIG.batch_size
    assert REAL_CONFIG.max_seconds <= CONFIG.max_seconds / 2


def test_augmentation_moves_masks_and_boxes_with_the_picture(small):
    ds = small("toy-pens", "train", n=4)
    image, target = ds[1]
    transposed_image, transposed = RandomTranspose(p=1.0)(image, target)
    assert torch.equal(transposed_image, image.transpose(-1, -2))
    assert torch.equal(transposed["masks"], target["masks"].transpose(-1, -2))
    assert torch.equal(transposed["boxes"], target["boxes"][:, [1, 0, 3, 2]])
    torch.manual_seed(0)
    for _ in range(8):
        _, aug = augmentation()(image, target)
        for mask, box in zip(aug["masks"], aug["boxes"]):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            assert box.tolist() == [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]
        assert isinstance(aug["boxes"], tv_tensors.BoundingBoxes)


def _watch_run(monkeypatch, scores, every, steps, budget_s=None, steps_per_epoch=100):
    """Step a MaskAPWatch by hand, as fit would, with ``scores`` as the successive mask AP@0.5."""
    from cvlearn.recipes import instance as recipe

    given = iter(scores)
    monkeypatch.setattr(recipe, "evaluate", lambda model, dataset, batch_size: {"mask_ap50": next(given)})
    model = nn.Linear(1, 1)
    state = TrainingState(model, torch.optim.SGD(model.parameters()), History(), epochs=1)
    result = TimeToTarget(0.5, 60.0, None)
    callbacks = ([TimeBudget(budget_s)] if budget_s else []) + [MaskAPWatch(None, result, every)]
    for step in range(1, steps + 1):
        state.epoch, state.step, state.seconds = 1 + (step - 1) // steps_per_epoch, step, float(step)
        for callback in callbacks:
            callback.on_step_end(state)
        if state.stopping or step % steps_per_epoch == 0:
            for callback in callbacks:
                callback.on_epoch_end(state)
        if state.stopping:
            break
    return result, state


def test_mask_ap_watch_scores_on_schedule_and_stops_at_the_target(monkeypatch):
    result, state = _watch_run(monkeypatch, [0.1, 0.3, 0.6, 0.9], every=3, steps=20)
    assert result.curve == [(3.0, 0.1), (6.0, 0.3), (9.0, 0.6)] and result.seconds == 9.0
    assert state.step == 9 and state.stop_reason == "mask AP@0.5 reached 0.600"


def test_mask_ap_watch_scores_the_step_the_budget_ran_out_and_the_last_one(monkeypatch):
    result, state = _watch_run(monkeypatch, [0.1, 0.2], every=3, steps=20, budget_s=4.5)
    assert result.curve == [(3.0, 0.1), (5.0, 0.2)] and not result.reached  # 5 s: the first step past 4.5 s
    assert state.stop_reason == "the time budget of 4.5 s is spent"
    result, state = _watch_run(monkeypatch, [0.1, 0.2], every=3, steps=4, steps_per_epoch=4)
    assert result.curve == [(3.0, 0.1), (4.0, 0.2)] and state.stop_reason is None  # the end of training


def test_speedup_reports_a_lower_bound_when_the_reference_never_got_there():
    ours = TimeToTarget(0.5, 180.0, 12.0)
    stock = TimeToTarget(0.5, 600.0, None, [(300.0, 0.0), (600.0, 0.01)])
    assert speedup(ours, stock) == (50.0, True)
    assert speedup(ours, TimeToTarget(0.5, 600.0, 240.0)) == (20.0, False)
    with pytest.raises(ValueError, match="did not reach"):
        speedup(stock, ours)


def test_time_to_mask_ap_quick_run(data_root, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(data_root))
    result = time_to_mask_ap(CONFIG, target=0.99, budget_s=30.0, eval_every=2, eval_images=4, quick=True)
    assert not result.reached and result.at_least == 30.0
    assert len(result.curve) == 1 and all(0.0 <= ap <= 1.0 for _, ap in result.curve)  # one step, scored at the end
    with pytest.raises(ValueError, match="target must be"):
        time_to_mask_ap(CONFIG, target=1.5)


@pytest.mark.parametrize("name", ["instance", "instance_stock"])
def test_quick_recipes_report_the_benchmark_metrics(name, data_root, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(data_root))
    result = RECIPES[name](quick=True, progress=False)
    assert result.recipe == name
    # ours is scored once more with its maskness stage off; the stock model has none
    extra = {"mask_ap50_no_maskness", "mask_ap_no_maskness"} if name == "instance" else set()
    assert set(result.metrics) == {"mask_ap50", "mask_ap", "box_ap50"} | extra
    assert all(0.0 <= v <= 1.0 for v in result.metrics.values())
    assert result.train_s > 0 and result.params > 0 and result.train_images > 0
    assert result.config["dataset"] == "toy-pens"


def test_pretrained_path_offline_is_fast_and_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(system, "network_reachable", lambda host, timeout: False)
    # no download attempt: offline, one would wait for a timeout before failing
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("a download was tried"))
    model = weights.load_pretrained("maskrcnn_resnet50_fpn_v2", weights="DEFAULT")
    assert model is None
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "MaskRCNN_ResNet50_FPN_V2_Weights" in line and "cannot be reached" in line


def test_compare_with_stock_reports_a_lower_bound(monkeypatch):
    from cvlearn.recipes import instance as recipe

    def fake(config, *, budget_s, **kwargs):
        if config.model == "stock":
            return TimeToTarget(0.5, budget_s, None, [(budget_s, 0.0)])
        return TimeToTarget(0.5, budget_s, 40.0, [(20.0, 0.3), (40.0, 0.55)])

    monkeypatch.setattr(recipe, "time_to_mask_ap", fake)
    record = recipe.compare_with_stock(stock_budget_s=480.0)
    assert set(record) == {"comparison", "ours", "baseline", "ratio", "note"}
    assert record["ours"] == 40.0 and record["baseline"] == 480.0 and record["ratio"] == 12.0
    assert "lower bound" in record["note"]
