"""Semantic segmentation: metrics against hand-computed confusion matrices, the models' output
shapes (odd sizes included), the recipe's pieces and a quick recipe run."""

import math

import numpy as np
import pytest
import torch

from cvlearn.metrics import confusion_matrix
from cvlearn.metrics.segmentation import (boundary_mask, iou_from_confusion, labelled_pixels, match_clusters,
                                          mean_iou, per_class_iou, pixel_accuracy, segmentation_scores)
from cvlearn.models.segmentation import FCN, UNet, colour_clusters, median_frequency_weights, predict_classes
from cvlearn.recipes import RECIPES, count_parameters, semantic
from cvlearn.recipes.semantic import CONFIGS, UNET, SegmentationConfig, SegmentationPairs, make_loader, make_loss
from cvlearn.train import fit

# Hand-worked example: 6 pixels, 3 classes that occur, a 4th class that never does.
#   target     prediction      confusion (row = true, column = predicted)
#   0 0 1      0 1 1           [[1, 1, 0],
#   1 2 2      1 2 0            [0, 2, 0],
#                               [1, 0, 1]]
TARGET = torch.tensor([[[0, 0, 1], [1, 2, 2]]])
PREDICTION = torch.tensor([[[0, 1, 1], [1, 2, 0]]])
HAND_IOU = [1 / 3, 2 / 3, 1 / 2]  # 1/(2+2-1), 2/(2+3-2), 1/(2+1-1)


def test_confusion_matrix_of_pixels_matches_the_hand_count():
    assert confusion_matrix(PREDICTION, TARGET, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_iou_accuracy_and_mean_match_the_hand_computation():
    assert per_class_iou(PREDICTION, TARGET, 3).tolist() == pytest.approx(HAND_IOU)
    assert pixel_accuracy(PREDICTION, TARGET, 3) == pytest.approx(4 / 6)
    assert mean_iou(PREDICTION, TARGET, 3) == pytest.approx(sum(HAND_IOU) / 3)


def test_a_class_absent_from_target_and_prediction_is_nan_and_left_out_of_the_mean():
    iou = per_class_iou(PREDICTION, TARGET, 4)
    assert math.isnan(iou[3]) and iou[:3].tolist() == pytest.approx(HAND_IOU)
    assert mean_iou(PREDICTION, TARGET, 4) == pytest.approx(sum(HAND_IOU) / 3)


def test_a_class_predicted_but_never_true_scores_zero_and_counts():
    prediction = PREDICTION.clone()
    prediction[0, 0, 0] = 3  # a right pixel of class 0 becomes a false class 3
    iou = per_class_iou(prediction, TARGET, 4)
    assert iou.tolist() == pytest.approx([0.0, 2 / 3, 1 / 2, 0.0])
    assert mean_iou(prediction, TARGET, 4) == pytest.approx((2 / 3 + 1 / 2) / 4)


def test_ignore_index_leaves_pixels_out_of_every_score():
    target = TARGET.clone()
    target[0, 1, 2] = 255  # the wrongly predicted class-2 pixel is now "don't care"
    matrix = confusion_matrix(PREDICTION, target, 3, ignore_index=255)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert pixel_accuracy(PREDICTION, target, 3, ignore_index=255) == pytest.approx(4 / 5)
    assert per_class_iou(PREDICTION, target, 3, ignore_index=255).tolist() == pytest.approx([1 / 2, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="targets must be class indices"):
        confusion_matrix(PREDICTION, target, 3)


def test_scores_accept_logits_and_agree_with_indices():
    logits = torch.nn.functional.one_hot(PREDICTION, 3).permute(0, 3, 1, 2).float() * 5
    assert mean_iou(logits, TARGET, 3) == pytest.approx(mean_iou(PREDICTION, TARGET, 3))


def test_segmentation_scores_name_each_class():
    scores = segmentation_scores(confusion_matrix(PREDICTION, TARGET, 3), ["grass", "road", "sheep"])
    assert scores["iou"] == pytest.approx(dict(zip(["grass", "road", "sheep"], HAND_IOU)))
    assert scores["miou"] == pytest.approx(0.5) and scores["pixel_accuracy"] == pytest.approx(4 / 6)


def test_metric_errors_name_the_problem():
    with pytest.raises(ValueError, match="square"):
        iou_from_confusion(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="ignored"):
        pixel_accuracy(PREDICTION, torch.full_like(TARGET, 255), 3, ignore_index=255)
    with pytest.raises(ValueError, match="empty"):
        mean_iou(PREDICTION, torch.full_like(TARGET, 255), 3, ignore_index=255)
    with pytest.raises(ValueError, match="classes must name"):
        segmentation_scores(torch.eye(3), ["a", "b"])


def test_boundary_mask_marks_pixels_next_to_another_class():
    mask = torch.zeros(5, 6, dtype=torch.long)
    mask[:, 3:] = 1
    expected = torch.zeros(5, 6, dtype=torch.bool)
    expected[:, 2:4] = True
    assert torch.equal(boundary_mask(mask), expected)
    expected[:, 1:5] = True
    assert torch.equal(boundary_mask(mask[None], width=2)[0], expected)
    with pytest.raises(ValueError, match="width"):
        boundary_mask(mask, width=0)


def test_match_clusters_undoes_a_permutation_and_assigns_extra_clusters():
    targets = torch.tensor([[0, 0, 1, 1, 2, 2, 2]])
    clusters = torch.tensor([[2, 2, 0, 0, 1, 1, 3]])  # cluster 3 is an extra piece of class 2
    mapping = match_clusters(clusters, targets, 3)
    assert mapping.tolist() == [1, 2, 0, 2]
    assert torch.equal(torch.from_numpy(mapping)[clusters], targets)


def test_median_frequency_weights_by_hand():
    masks = torch.tensor([[[0, 0, 0, 0, 0, 0], [1, 1, 1, 2, 2, 2]], [[0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 2]]])
    # frequencies 12/24, 8/24, 4/24; median 8/24; class 3 has no pixel
    weights = median_frequency_weights(masks, 4)
    assert weights.tolist() == pytest.approx([8 / 12, 1.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="class indices"):
        median_frequency_weights(masks, 2)


@pytest.mark.parametrize("make", [lambda: FCN(5, width=4), lambda: FCN(5, width=4, upsample="transposed"),
                                  lambda: UNet(5, width=4)], ids=["fcn", "fcn-transposed", "unet"])
@pytest.mark.parametrize("size", [(64, 64), (65, 63), (33, 47), (8, 9)])
def test_models_keep_any_input_size(make, size):
    model = make().eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 5, *size)


def test_models_reject_bad_input_with_a_clear_message():
    model = UNet(5, width=4)
    with pytest.raises(ValueError, match=r"at least 8×8"):
        model(torch.rand(1, 3, 7, 20))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[0.0]])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match="upsample"):
        FCN(5, upsample="nearest")
    with pytest.raises(ValueError, match="num_classes"):
        UNet(1)


@pytest.mark.parametrize("make", [lambda: FCN(5, width=4), lambda: FCN(5, width=4, upsample="transposed"),
                                  lambda: UNet(5, width=4)])
def test_models_take_uint8_pictures_as_their_float_copies(make):
    model = make().eval()
    pictures = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(model(pictures), model(pictures.float() / 255))


def test_unet_size_and_training_step():
    assert 400_000 < count_parameters(UNet(5)) < 600_000
    model = UNet(3, width=4)
    images, masks = torch.rand(2, 3, 16, 16), torch.randint(0, 3, (2, 16, 16))
    loss = torch.nn.functional.cross_entropy(model(images), masks)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_predict_gives_class_maps_from_uint8_images():
    images = torch.randint(0, 256, (5, 3, 17, 19), dtype=torch.uint8)
    maps = predict_classes(FCN(4, width=4), images, batch_size=2)
    assert maps.shape == (5, 17, 19) and maps.dtype == torch.int64 and int(maps.max()) < 4


def test_colour_clusters_find_flat_colour_regions():
    colours = torch.tensor([[200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=torch.uint8)
    masks = torch.zeros(2, 8, 8, dtype=torch.long)
    masks[:, 3:] = 1
    masks[:, 6:, 4:] = 2
    images = colours[masks].permute(0, 3, 1, 2)
    centres, clusters = colour_clusters(images, 3, seed=0)
    assert centres.shape == (3, 3) and clusters.shape == masks.shape
    mapping = torch.from_numpy(match_clusters(clusters, masks, 3))
    assert mean_iou(mapping[clusters], masks, 3) == pytest.approx(1.0)


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


# --------------------------------------------------------------------------------------------
# Real masks: VOC's 255 outlines are left out of weights, loss and scores
# --------------------------------------------------------------------------------------------

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
        median_frequency_weights(split.semantic_masks[labelled], 3).tolist())
    logits = torch.randn(4, 3, 16, 16)
    masks = split.semantic_masks.long()
    wild = logits.clone()
    wild[:, :, ::4] = 100 * torch.randn(4, 3, 4, 16)  # whatever is predicted on outlines must not matter
    assert loss_fn(wild, masks).item() == pytest.approx(loss_fn(logits, masks).item())
    model = FCN(3, width=4, depth=2)
    scores, matrix = semantic.evaluate(model, split)
    assert int(matrix.sum()) == int(labelled.sum())
    assert 0.0 <= scores["miou"] <= 1.0


def test_labelled_pixels_and_cluster_matching_skip_ignored_pixels():
    truth = torch.tensor([[[0, 1, VOID], [1, 0, VOID]]])
    assert labelled_pixels(truth, VOID).tolist() == [[[True, True, False], [True, True, False]]]
    assert labelled_pixels(truth).all()
    clusters = torch.tensor([[[1, 0, 0], [0, 1, 0]]])
    assert match_clusters(clusters, truth, 2, ignore_index=VOID).tolist() == [1, 0]
    with pytest.raises(ValueError, match="class indices"):
        match_clusters(clusters, truth, 2)


def test_toy_splits_have_no_ignore_index(small):
    ds = small("toy-pasture", "train", n=4)
    assert semantic.ignore_index_of(ds) is None
    assert make_loss(UNET, ds).ignore_index == -100  # PyTorch's default: no pixel is ignored


# --------------------------------------------------------------------------------------------
# Devices: package functions move inputs to the model's device and return CPU tensors
# --------------------------------------------------------------------------------------------


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


def test_fit_moves_a_weighted_loss_with_the_model():
    moved = []

    class RecordingLoss(torch.nn.CrossEntropyLoss):
        def to(self, *args, **kwargs):
            moved.append(torch.device(args[0]))
            return super().to(*args, **kwargs)

    split = _VOCLikeSplit(n=2, size=8)
    loader = make_loader(split, UNET)
    fit(FCN(3, width=4, depth=2), loader, loss_fn=RecordingLoss(weight=torch.ones(3), ignore_index=VOID),
        epochs=1, device="cpu", progress=False)
    assert moved == [torch.device("cpu")]


def test_recipe_train_passes_its_device_to_fit(small):
    ds = small("toy-pasture", "train", n=8)
    _, history = semantic.train(SegmentationConfig(model="fcn", width=4, depth=2, epochs=1), ds, ds, device="cpu", progress=False)
    assert history.device == "cpu"
