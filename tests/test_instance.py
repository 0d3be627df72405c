"""Mask R-CNN for notebook 05: the factory, prediction, COCO scores, the recipes and the pretrained path."""

import time

import pytest
import torch
from pycocotools import mask as mask_utils

from cvlearn import checkup, weights
from cvlearn.metrics.coco import coco_results
from cvlearn.metrics.instance import instance_metrics, mask_iou
from cvlearn.models.instance import SMALL, MaskRCNNSettings, maskrcnn, maskrcnn_stock, predict_instances
from cvlearn.recipes import RECIPES
from cvlearn.recipes.instance import (CONFIG, BudgetedBatches, RandomTranspose, TimeToTarget, TrainingStopped,
                                      augmentation, detection_batch, speedup, time_to_mask_ap)
from torchvision import tv_tensors


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
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(100):
        loss = sum(model(images, targets).values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    found = predict_instances(model, images)
    for prediction, target in zip(found, targets):
        ious = mask_iou(prediction["masks"][prediction["scores"] > 0.5], target["masks"])
        assert ious.shape[1] == len(target["masks"])
        assert (ious.max(0).values >= 0.75).all(), ious.max(0).values


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


def test_budgeted_batches_stop_on_budget_and_resume():
    batches = BudgetedBatches(list(range(5)), chunk_steps=3, budget_s=60.0)
    assert list(batches) == [0, 1, 2] and list(batches) == [3, 4, 0] and batches.steps == 6
    assert len(batches) == 3 and not batches.spent
    spent = BudgetedBatches(list(range(5)), chunk_steps=3, budget_s=1e-9)
    assert list(spent) == [] and spent.spent
    with pytest.raises(TrainingStopped, match="budget"):
        list(spent)


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
    assert len(result.curve) >= 1 and all(0.0 <= ap <= 1.0 for _, ap in result.curve)
    with pytest.raises(ValueError, match="target must be"):
        time_to_mask_ap(CONFIG, target=1.5)


@pytest.mark.parametrize("name", ["instance", "instance_stock"])
def test_quick_recipes_report_the_benchmark_metrics(name, data_root, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(data_root))
    result = RECIPES[name](quick=True, progress=False)
    assert result.recipe == name
    assert set(result.metrics) == {"mask_ap50", "mask_ap", "box_ap50"}
    assert all(0.0 <= v <= 1.0 for v in result.metrics.values())
    assert result.train_s > 0 and result.params > 0 and result.train_images > 0
    assert result.config["dataset"] == "toy-pens"


def test_pretrained_path_offline_is_fast_and_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(checkup, "network_reachable", lambda host, timeout: False)
    start = time.perf_counter()
    model = weights.load_pretrained("maskrcnn_resnet50_fpn_v2", weights="DEFAULT")
    assert model is None and time.perf_counter() - start < 1.0
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
