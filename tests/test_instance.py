"""Mask R-CNN for notebook 05: the factory, prediction, COCO scores, the recipes and the pretrained path."""

import time
from dataclasses import replace

import pytest
import torch
from pycocotools import mask as mask_utils

from cvlearn import data, system, weights
from cvlearn.metrics.coco import coco_results
from cvlearn.metrics.instance import instance_metrics, mask_iou
from cvlearn.models.instance import (SMALL, MaskRCNNSettings, maskness, maskrcnn, maskrcnn_stock, paste_masks,
                                     predict_instances)
from cvlearn.recipes import RECIPES
from cvlearn.recipes.instance import (CONFIG, REAL_CONFIG, KeptInMemory, MaskAPWatch, RandomTranspose, TimeToTarget,
                                      augmentation, detection_batch, evaluate, speedup, time_to_mask_ap,
                                      train_loader)
from cvlearn.train import History, TimeBudget, TrainingState
from torch import nn
from torchvision import tv_tensors

from .fakedata import make_penn_fudan


def _pen_target(rows: slice, cols: slice, size: int = 96) -> dict:
    mask = torch.zeros(1, size, size, dtype=torch.uint8)
    mask[0, rows, cols] = 1
    box = torch.tensor([[cols.start, rows.start, cols.stop, rows.stop]], dtype=torch.float32)
    return {"boxes": box, "labels": torch.tensor([1]), "masks": mask}


def test_factory_applies_the_small_image_settings():
    assert CONFIG.settings == SMALL and isinstance(SMALL, MaskRCNNSettings)
    model = maskrcnn(2)
    assert model.transform.min_size == (96,) and model.transform.max_size == 96
    assert model.rpn.anchor_generator.sizes == ((16,), (32,), (64,))
    assert model.rpn.anchor_generator.aspect_ratios[0] == SMALL.aspect_ratios and max(SMALL.aspect_ratios) >= 8
    assert model.rpn.fg_bg_sampler.batch_size_per_image == SMALL.rpn_batch_size_per_image
    assert model.roi_heads.fg_bg_sampler.batch_size_per_image == SMALL.box_batch_size_per_image
    assert model.roi_heads.box_roi_pool.sampling_ratio == 1 and model.roi_heads.mask_roi_pool.sampling_ratio == 1
    assert sum(p.numel() for p in model.parameters()) < 3_000_000
    assert maskrcnn(2, box_nms_thresh=0.3).roi_heads.nms_thresh == 0.3


def test_factory_trains_and_predicts_with_the_right_shapes():
    torch.manual_seed(0)
    model = maskrcnn(3)
    images = [torch.rand(3, 96, 96), torch.rand(3, 96, 96)]
    targets = [_pen_target(slice(40, 44), slice(10, 80)), _pen_target(slice(5, 90), slice(50, 53))]
    targets[1]["labels"] = torch.tensor([2])
    losses = model(images, targets)
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"}
    sum(losses.values()).backward()
    assert model.roi_heads.mask_predictor.mask_fcn_logits.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        found = model(images)
    assert len(found) == 2
    for f in found:
        k = len(f["boxes"])
        assert f["masks"].shape == (k, 1, 96, 96) and f["scores"].shape == f["labels"].shape == (k,)
        assert k <= SMALL.box_detections_per_img
        assert (f["scores"][:-1] >= f["scores"][1:]).all()
    with torch.no_grad():
        mask_logits = model.roi_heads.mask_predictor(model.roi_heads.mask_head(torch.zeros(1, 64, 14, 14)))
    assert mask_logits.shape == (1, 3, 28, 28)


def test_factory_fine_mask_level_and_bad_arguments():
    model = maskrcnn(2, mask_stride=2).eval()
    with torch.no_grad():
        features = model.backbone(torch.rand(1, 3, 96, 96))
    assert features["fine"].shape == (1, 64, 48, 48) and features["0"].shape == (1, 64, 24, 24)
    assert model.rpn.levels == ["0", "1", "2"]
    with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
        maskrcnn(1)
    with pytest.raises(TypeError, match="unknown setting"):
        maskrcnn(2, anchors=(8,))
    with pytest.raises(ValueError, match="mask_stride must be 2 or 4"):
        maskrcnn(2, mask_stride=8)
    with pytest.raises(TypeError, match="settings must be a MaskRCNNSettings"):
        maskrcnn(2, settings={"widths": (8, 8, 8, 8)})


def _box_head_detections(model, images):
    """The detections as the box and mask heads give them, before the transform's postprocess:
    the box classifier's scores and (K, 1, 28, 28) mask probabilities."""
    with torch.no_grad():
        batch, _ = model.transform(images)
        features = model.backbone(batch.tensors)
        proposals, _ = model.rpn(batch, features)
        detections, _ = model.roi_heads(features, proposals, batch.image_sizes)
    return detections


def test_maskness_switch_off_keeps_the_box_scores_on_multiplies_by_mask_confidence():
    assert SMALL.maskness and maskrcnn(2).transform.maskness
    assert maskrcnn(2, maskness=False).transform.maskness is False
    torch.manual_seed(0)
    model = maskrcnn(2).eval()
    images = [torch.rand(3, 96, 96), torch.rand(3, 96, 96)]
    heads = _box_head_detections(model, images)
    model.transform.maskness = False
    with torch.no_grad():
        off = model(images)
    model.transform.maskness = True
    with torch.no_grad():
        on = model(images)
    assert sum(len(d["scores"]) for d in heads) > 0, "the untrained model should still give detections"
    for head, plain, rescored in zip(heads, off, on):
        # off: Mask R-CNN's scores, the box classifier's, in its order
        torch.testing.assert_close(plain["scores"], head["scores"])
        torch.testing.assert_close(plain["boxes"], head["boxes"])
        # on: each score times its pasted mask's confidence, re-sorted by the product
        confidence = maskness(paste_masks(head["masks"], head["boxes"], (96, 96)))
        assert (confidence < 1).all() and confidence.max() > 0  # (0 for a mask that claims no pixel)
        expected = head["scores"] * confidence
        order = torch.argsort(expected, descending=True)
        torch.testing.assert_close(rescored["scores"], expected[order])
        torch.testing.assert_close(rescored["boxes"], head["boxes"][order])
        assert (rescored["scores"] < head["scores"][order]).all()


def test_maskness_is_the_mean_probability_over_the_pixels_a_mask_claims():
    masks = torch.zeros(3, 1, 4, 4)
    masks[0, 0, :2, :2] = 0.9                      # crisp: four pixels at 0.9
    masks[1, 0, 0, :] = torch.tensor([0.6, 0.8, 0.3, 0.2])  # only 0.6 and 0.8 are claimed
    # masks[2] claims nothing
    torch.testing.assert_close(maskness(masks), torch.tensor([0.9, 0.7, 0.0]))


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


def test_stock_reference_keeps_torchvision_defaults():
    model = maskrcnn_stock(2)
    assert model.transform.min_size == (800,) and model.transform.max_size == 1333
    assert model.roi_heads.fg_bg_sampler.batch_size_per_image == 512
    assert model.roi_heads.mask_roi_pool.sampling_ratio == 2
    assert model.backbone.out_channels == 256


def test_tiny_overfit_on_two_pictures_reaches_high_mask_iou(small):
    ds = small("toy-pens", "train", n=10)
    images, targets = detection_batch([ds[1], ds[9]])  # two pens each
    torch.manual_seed(0)
    model = maskrcnn(2, box_detections_per_img=10, widths=(16, 32, 64, 96), channels=32, mask_channels=32)
    steps = 100
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    # the rate decays to zero, so training settles instead of ending mid-oscillation, where each
    # CPU's float rounding (AVX-512, AVX2, plain kernels, thread count) lands somewhere else
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / steps)
    for _ in range(steps):
        loss = sum(model(images, targets).values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    found = predict_instances(model, images)
    best = []
    for prediction, target in zip(found, targets):
        ious = mask_iou(prediction["masks"][prediction["scores"] > 0.5], target["masks"])
        assert ious.shape[1] == len(target["masks"])
        best += ious.max(0).values.tolist() if len(ious) else [0.0] * len(target["masks"])
    # Over 4 seeds x 3 kernel sets x 1-2 threads, every pen reached 0.70-0.97 (mean 0.83 or more);
    # trained without its mask loss, the same model reaches 0.08-0.20. The bars sit between.
    assert min(best) >= 0.5 and sum(best) / len(best) >= 0.7, best


def test_predict_instances_gives_boolean_masks_and_restores_mode(small):
    ds = small("toy-pens", "val", n=3)
    model = maskrcnn(2).train()
    found = predict_instances(model, ds.images, batch_size=2)
    assert len(found) == 3 and model.training
    for f in found:
        assert f["masks"].dtype == torch.bool and f["masks"].shape[1:] == (96, 96)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        predict_instances(model, [torch.zeros(96, 96)])
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        predict_instances(model, ds.images, batch_size=0)


class DeviceRecorder(nn.Module):
    """A stand-in detection model whose weights live on ``meta``: it records the device of the
    pictures it receives and answers with one detection per picture, made on the CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, device="meta"))
        self.seen: list[torch.device] = []

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        self.seen += [image.device for image in images]
        h, w = images[0].shape[-2:]
        return [{"boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0]]), "labels": torch.tensor([1]),
                 "scores": torch.tensor([0.9]), "masks": torch.full((1, 1, h, w), 0.7)} for _ in images]


def test_predict_instances_hands_pictures_to_the_model_on_its_own_device():
    model = DeviceRecorder()
    found = predict_instances(model, torch.zeros(3, 3, 8, 8, dtype=torch.uint8), batch_size=2)
    assert model.seen == [torch.device("meta")] * 3
    assert len(found) == 3 and all(v.device.type == "cpu" for f in found for v in f.values())
    assert found[0]["masks"].dtype == torch.bool and found[0]["masks"].shape == (1, 8, 8)


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


def test_coco_conversion_of_predictions_round_trips():
    masks = torch.zeros(2, 1, 20, 30)
    masks[0, 0, 2:5, 3:20] = 0.9
    masks[1, 0, 10:18, 25:27] = 0.7
    masks[1, 0, 0, 0] = 0.4  # below 0.5: not part of the mask
    prediction = {"boxes": torch.tensor([[3.0, 2.0, 20.0, 5.0], [25.0, 10.0, 27.0, 18.0]]),
                  "scores": torch.tensor([0.95, 0.6]), "labels": torch.tensor([1, 1]), "masks": masks}
    records = coco_results([prediction], [7], with_masks=True)
    assert [r["image_id"] for r in records] == [7, 7] and [r["category_id"] for r in records] == [1, 1]
    assert records[0]["bbox"] == [3.0, 2.0, 17.0, 3.0] and records[1]["score"] == pytest.approx(0.6)
    decoded = mask_utils.decode(records[1]["segmentation"])
    assert decoded.shape == (20, 30) and decoded.sum() == 16 and decoded[0, 0] == 0


def test_instance_metrics_score_perfect_and_poor_predictions(small):
    ds = small("toy-pens", "val", n=6)
    targets = [ds.target(i) for i in range(6)]
    perfect = [{"boxes": t["boxes"], "labels": t["labels"], "scores": torch.ones(len(t["labels"])),
                "masks": t["masks"]} for t in targets]
    scores = instance_metrics(perfect, targets, ds.categories, (96, 96))
    assert set(scores) == {"mask_ap50", "mask_ap75", "mask_ap", "box_ap50", "box_ap"}
    assert all(v == pytest.approx(1.0) for v in scores.values())
    # the same boxes with masks moved by 3 px: box AP stays, mask AP drops (thin pens)
    moved = [{**p, "masks": torch.roll(p["masks"], 3, dims=-1)} for p in perfect]
    worse = instance_metrics(moved, targets, ds.categories, (96, 96))
    assert worse["box_ap50"] == pytest.approx(1.0) and worse["mask_ap"] < 0.5


def test_mask_iou_pairs_and_shapes():
    a = torch.zeros(2, 4, 4, dtype=torch.bool)
    a[0, :2] = True
    a[1] = True
    b = a[:1].clone()
    assert torch.allclose(mask_iou(a, b), torch.tensor([[1.0], [0.5]]))
    assert mask_iou(torch.zeros(1, 4, 4, dtype=torch.bool), torch.zeros(1, 4, 4, dtype=torch.bool)).item() == 0.0
    with pytest.raises(ValueError, match="share their size"):
        mask_iou(a, torch.zeros(1, 3, 3, dtype=torch.bool))


def test_augmentation_moves_masks_and_boxes_with_the_picture(small):
    ds = small("toy-pens", "train", n=4)
    image, target = ds[1]
    transposed_image, transposed = RandomTranspose(p=1.0)(image, target)
    assert torch.equal(transposed_image, image.transpose(-1, -2))
    assert torch.equal(transposed["masks"], target["masks"].transpose(-1, -2))
    assert torch.equal(transposed["boxes"], target["boxes"][:, [1, 0, 3, 2]])
    torch.manual_seed(0)
    for _ in range(8):
        aug_image, aug = augmentation()(image, target)
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
    start = time.perf_counter()
    model = weights.load_pretrained("maskrcnn_resnet50_fpn_v2", weights="DEFAULT")
    assert model is None and time.perf_counter() - start < 10.0  # no download attempt: far below any timeout
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
