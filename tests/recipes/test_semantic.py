"""cvlearn.recipes.semantic: the configurations, the data pairs, the weighted loss, VOC's ignored
pixels, devices and a quick run."""

import numpy as np
import pytest
import torch

from cvlearn.models.segmentation import FCN, UNet, median_frequency_weights, predict_classes
from cvlearn.recipes import RECIPES, semantic
from cvlearn.recipes.semantic import CONFIGS, UNET, SegmentationConfig, SegmentationPairs, make_loader, make_loss


def test_configs_build_their_models():
    assert set(CONFIGS) == {"fcn", "fcn-transposed", "unet"} and CONFIGS["unet"] is UNET
    assert isinstance(CONFIGS["fcn"].build_model(5), FCN) and CONFIGS["fcn"].build_model(5).upsample == "bilinear"
    assert CONFIGS["fcn-transposed"].build_model(5).upsample == "transposed"
    assert isinstance(UNET.build_model(5), UNet)
    with pytest.raises(ValueError, match="model must be one of"):
        SegmentationConfig(model="segformer")


def test_pairs_flip_image_and_mask_together():
    images = torch.arange(2 * 3 * 4 * 5, dtype=torch.uint8).reshape(2, 3, 4, 5)
    masks = torch.arange(2 * 4 * 5).reshape(2, 4, 5) % 5
    pairs = SegmentationPairs(images, masks, flip=True)
    torch.manual_seed(0)
    flipped = 0
    for _ in range(20):
        image, mask = pairs[1]
        assert image.dtype == torch.float32 and mask.dtype == torch.int64
        same = torch.equal(mask, masks[1])
        assert same or torch.equal(mask, masks[1].flip(-1))
        assert torch.equal(image, (images[1] if same else images[1].flip(-1)).float() / 255)
        flipped += not same
    assert 0 < flipped < 20
    with pytest.raises(ValueError, match="must match"):
        SegmentationPairs(images, masks[:1])


def test_loader_and_weighted_loss_from_a_split(small):
    train = small("toy-pasture", n=20)
    batches = list(make_loader(train, UNET))
    assert [len(images) for images, _ in batches] == [UNET.batch_size, 20 - UNET.batch_size]
    images, masks = batches[0]
    assert images.shape == (UNET.batch_size, 3, 64, 64) and images.dtype == torch.float32
    assert masks.shape == (UNET.batch_size, 64, 64) and masks.dtype == torch.int64
    loss = make_loss(UNET, train)
    assert loss.weight.shape == (len(train.semantic_classes),) and float(loss.weight.min()) > 0


def test_quick_recipe_runs_and_reports_the_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    result = RECIPES["semantic"](quick=True, progress=False)
    assert result.recipe == "semantic" and set(result.metrics) == {"miou", "pixel_accuracy"}
    assert all(0.0 <= v <= 1.0 for v in result.metrics.values())
    assert result.train_images > 0 and result.params > 0 and result.config["model"] == "unet"
    assert np.isfinite(result.history.step_losses).all()


# Real masks: VOC's 255 outlines are left out of weights, loss and scores
VOID = 255


class _VOCLikeSplit:
    """What the recipe reads from a real split: whole tensors, classes and an ignore index."""

    def __init__(self, n: int = 4, size: int = 16) -> None:
        generator = torch.Generator().manual_seed(0)
        self.images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=generator)
        masks = torch.randint(0, 3, (n, size, size), generator=generator)
        masks[:, ::4] = VOID  # outlines nobody labelled
        self.semantic_masks = masks.to(torch.uint8)
        self.semantic_classes = ("background", "cat", "dog")
        self.ignore_index = VOID


def test_loss_weights_and_scores_leave_ignored_pixels_out():
    split = _VOCLikeSplit()
    loss_fn = make_loss(UNET, split)
    assert loss_fn.ignore_index == VOID
    labelled = split.semantic_masks != VOID
    assert loss_fn.weight.tolist() == pytest.approx(
        median_frequency_weights(split.semantic_masks[labelled], 3).tolist()
    )
    logits = torch.randn(4, 3, 16, 16)
    masks = split.semantic_masks.long()
    wild = logits.clone()
    wild[:, :, ::4] = 100 * torch.randn(4, 3, 4, 16)  # whatever is predicted on outlines must not matter
    assert loss_fn(wild, masks).item() == pytest.approx(loss_fn(logits, masks).item())
    model = FCN(3, width=4, depth=2)
    scores, matrix = semantic.evaluate(model, split)
    assert int(matrix.sum()) == int(labelled.sum())
    assert 0.0 <= scores["miou"] <= 1.0


def test_toy_splits_have_no_ignore_index(small):
    ds = small("toy-pasture", "train", n=4)
    assert semantic.ignore_index_of(ds) is None
    assert make_loss(UNET, ds).ignore_index == -100  # PyTorch's default: no pixel is ignored


# Devices: the recipe moves inputs to the model's device and returns CPU tensors
class _DeviceRecorder(torch.nn.Module):
    """A stand-in segmenter whose weights live on the ``meta`` device; it records where its
    inputs are and answers with CPU logits, so a function that forgets to move them is caught."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1, device="meta"))
        self.num_classes, self.seen = num_classes, []

    def forward(self, images):
        self.seen.append(images.device.type)
        return torch.zeros(images.shape[0], self.num_classes, *images.shape[-2:])


def test_predict_and_evaluate_feed_the_model_on_its_device_and_return_cpu():
    model = _DeviceRecorder()
    images = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    classes = predict_classes(model, images, batch_size=2)
    assert model.seen == ["meta"] * 3 and classes.device.type == "cpu" and classes.shape == (5, 8, 8)
    split = _VOCLikeSplit(n=2, size=8)
    semantic.make_evaluator(split)(model)
    assert set(model.seen) == {"meta"}


def test_recipe_train_passes_its_device_to_fit(small):
    ds = small("toy-pasture", "train", n=8)
    _, history = semantic.train(
        SegmentationConfig(model="fcn", width=4, depth=2, epochs=1), ds, ds, device="cpu", progress=False
    )
    assert history.device == "cpu"
