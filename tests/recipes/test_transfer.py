"""cvlearn.recipes.transfer: starting Mask R-CNN from a pretrained body (loaded, frozen, or
fine-tuned at a lower learning rate) and the study's configuration."""

from dataclasses import replace

import pytest
import torch
from torchvision.ops.misc import FrozenBatchNorm2d

from cvlearn.models import BackboneClassifier, body_state, maskrcnn
from cvlearn.recipes import RECIPES, transfer
from cvlearn.recipes.transfer import (
    CONFIG,
    body_parameters,
    freeze_batchnorm,
    optimizer_for,
    parameter_groups,
    start_from,
)


def _body():
    torch.manual_seed(1)
    return body_state(BackboneClassifier(8, CONFIG.target.settings.widths))


def test_start_from_loads_the_body_and_nothing_else():
    body = _body()
    torch.manual_seed(0)
    scratch = maskrcnn(2)
    torch.manual_seed(0)
    tuned = start_from(maskrcnn(2), "finetune", body)
    for key, value in tuned.backbone.state_dict().items():
        expected = body[key] if key in body else scratch.backbone.state_dict()[key]
        assert torch.equal(value, expected), key
    assert all(torch.equal(a, b) for a, b in zip(tuned.rpn.parameters(), scratch.rpn.parameters()))


def test_frozen_body_learns_nothing_and_keeps_its_statistics():
    model = start_from(maskrcnn(2), "frozen", _body())
    assert not any(p.requires_grad for p in body_parameters(model))
    assert any(isinstance(m, FrozenBatchNorm2d) for m in model.backbone.stem.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.backbone.stages.modules())
    before = {k: v.clone() for k, v in model.backbone.stem.state_dict().items()}
    model.train()
    images = [torch.rand(3, 96, 96)]
    target = [
        {
            "boxes": torch.tensor([[10.0, 10.0, 40.0, 20.0]]),
            "labels": torch.tensor([1]),
            "masks": torch.zeros(1, 96, 96, dtype=torch.uint8),
        }
    ]
    sum(model(images, target).values()).backward()
    assert all(torch.equal(v, before[k]) for k, v in model.backbone.stem.state_dict().items())
    assert model.backbone.fpn.inner_blocks[0][0].weight.grad is not None  # the pyramid still learns


def test_freeze_batchnorm_keeps_the_layers_numbers():
    layer = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    layer[1].running_mean.uniform_()
    layer.eval()
    x = torch.rand(2, 3, 8, 8)
    expected = layer(x)
    assert torch.allclose(freeze_batchnorm(layer)(x), expected, atol=1e-6)
    assert isinstance(layer[1], FrozenBatchNorm2d)


def test_fine_tuning_gives_the_body_a_tenth_of_the_learning_rate():
    model = start_from(maskrcnn(2), "finetune", _body())
    groups = optimizer_for(model, "finetune").param_groups
    assert [g["lr"] for g in groups] == [CONFIG.target.lr * CONFIG.body_lr_factor, CONFIG.target.lr]
    assert len(groups[0]["params"]) == len(body_parameters(model))
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    frozen = start_from(maskrcnn(2), "frozen", _body())
    assert [g["lr"] for g in parameter_groups(frozen, 1.0, 0.1)] == [1.0]  # the frozen body has no group


def test_bad_starts_are_clear_errors():
    with pytest.raises(ValueError, match="method must be one of"):
        start_from(maskrcnn(2), "warm", None)
    with pytest.raises(ValueError, match="needs body"):
        start_from(maskrcnn(2), "frozen", None)
    with pytest.raises(ValueError, match="weights missing"):
        start_from(maskrcnn(2), "finetune", body_state(BackboneClassifier(8, (8, 8, 8, 8))))


def test_the_study_compares_three_starts_at_five_sizes_against_notebook_05():
    from cvlearn.recipes import instance

    assert CONFIG.target == instance.CONFIG and CONFIG.headline in CONFIG.sizes
    assert CONFIG.sizes == (25, 50, 100, 200, 500) and transfer.METHODS == ("scratch", "frozen", "finetune")
    assert RECIPES["transfer"] is transfer.transfer


@pytest.mark.training
def test_the_quick_run_reports_the_bench_keys():
    result = RECIPES["transfer"](quick=True, progress=False)
    keys = {"fraction_of_scratch", "time_ratio", "finetune_mask_ap50", "scratch_all_mask_ap50"}
    assert keys <= set(result.metrics) and result.metrics["time_ratio"] > 0
    assert result.metrics["fraction_of_scratch"] == pytest.approx(
        result.metrics["finetune_mask_ap50"] / max(result.metrics["scratch_all_mask_ap50"], 1e-9)
    )


# --------------------------------------------------------------------------------------------
# Real photos: ResNet-18
# --------------------------------------------------------------------------------------------


def test_resnet18_gets_a_new_head_and_imagenets_normalisation():
    model = transfer.resnet18_classifier(2, weights=None)
    assert model[1].fc.out_features == 2
    assert torch.allclose(model[0].mean.flatten(), torch.tensor(transfer.IMAGENET_MEAN))
    logits = model.eval()(torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8))
    assert logits.shape == (2, 2)
    groups = transfer.photo_parameter_groups(model, 1.0, 0.1)
    assert [g["lr"] for g in groups] == [0.1, 1.0] and len(groups[1]["params"]) == 2


def test_offline_without_the_weights_it_is_one_line_and_none(tmp_path, monkeypatch, capsys):
    from cvlearn import system

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(system, "network_reachable", lambda host, timeout: False)
    assert transfer.resnet18_classifier(2, "ResNet18_Weights.IMAGENET1K_V1") is None
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "ResNet18_Weights.IMAGENET1K_V1" in line and "cannot be reached" in line


def test_finetune_photos_trains_on_stand_in_pets(tmp_path):
    from cvlearn import data
    from tests.fakedata import make_oxford_pets

    make_oxford_pets(tmp_path / "oxford-pets")
    train_set, val_set = (data.load("oxford-pets", s, root=tmp_path, size=64, progress=False) for s in ("train", "val"))
    config = replace(transfer.PHOTO_CONFIG, weights=None, epochs=1, batch_size=4)
    model, history = transfer.finetune_photos(train_set, val_set, config, progress=False)
    assert len(history.epochs) == 1 and "val_accuracy" in history.epochs[0]
    assert model[1].fc.out_features == len(train_set.classes)


def test_the_package_registers_both_recipes_for_bench():
    import subprocess
    import sys

    listed = subprocess.run(
        [sys.executable, "-c", "import cvlearn.recipes as r; print(' '.join(sorted(r.RECIPES)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert {"pretrain", "transfer"} <= set(listed)
