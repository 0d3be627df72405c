"""cvlearn.models.detection: TinyDetector's shapes, loss and predictions, Faster R-CNN's small-image
settings, the detection data and ``detect``."""

import pytest
import torch

from cvlearn.models.detection import (
    DetectionData,
    TinyDetector,
    collate,
    detect,
    detection_loader,
    expected_distances,
    faster_rcnn,
    likeliest_distances,
    tiny_detector,
)
from cvlearn.recipes.detection import FASTER_RCNN


def _targets(n=2):
    return [
        {"boxes": torch.tensor([[10.0, 12.0, 30.0, 34.0], [50.0, 40.0, 70.0, 58.0]]), "labels": torch.tensor([1, 2])}
        for _ in range(n - 1)
    ] + [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]


def test_tiny_detector_shapes_losses_and_predictions():
    torch.manual_seed(0)
    model = tiny_detector(2)
    images = torch.rand(2, 3, 96, 96)
    outputs = model.head_outputs(images)
    assert outputs["class_logits"].shape == (2, 2, 24, 24)
    assert outputs["distance_logits"].shape == (2, 4, 32, 24, 24)
    assert outputs["quality_logits"].shape == (2, 1, 24, 24)
    model.train()
    losses = model(images, _targets())
    assert set(losses) == {"classification", "box", "quality"}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert model.head.distances.weight.grad is not None and model.head.distances.weight.grad.abs().sum() > 0
    model.eval()
    found = model(images)
    assert len(found) == 2
    for f in found:
        assert f["boxes"].shape[1] == 4 and f["scores"].shape == f["labels"].shape == (len(f["boxes"]),)
        assert len(f["boxes"]) <= model.settings.detections_per_img
        assert ((f["labels"] >= 1) & (f["labels"] <= 2)).all()
        assert (f["boxes"] >= 0).all() and (f["boxes"] <= 96).all()


def test_tiny_detector_learns_one_picture():
    torch.manual_seed(0)
    model = tiny_detector(2, score_thresh=0.2)
    images, targets = torch.rand(1, 3, 96, 96), _targets(2)[:1]
    optimiser = torch.optim.AdamW(model.parameters(), 3e-3)
    model.train()
    first = None
    for _ in range(30):
        loss = sum(model(images, targets).values())
        first = first if first is not None else loss.item()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.5 * first


def test_tiny_detector_takes_uint8_pictures_as_their_float_copies():
    model = tiny_detector(2).eval()
    pictures = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        found, expected = model(pictures), model(pictures.float() / 255)
    assert all(torch.equal(f[k], e[k]) for f, e in zip(found, expected) for k in ("boxes", "scores", "labels"))


def test_tiny_detector_rejects_bad_input():
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        TinyDetector(0)
    with pytest.raises(TypeError, match="unknown setting"):
        tiny_detector(2, width=3)
    model = tiny_detector(2).eval()
    with pytest.raises(ValueError, match="multiples of 16"):
        model(torch.rand(1, 3, 90, 90))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.rand(3, 96, 96))
    model.train()
    with pytest.raises(ValueError, match="needs targets"):
        model(torch.rand(1, 3, 96, 96))


def test_distances_are_read_from_their_distributions():
    logits = torch.full((1, 4, 5), -30.0)
    logits[0, :, 3] = 30.0  # sure: 3 px on every side
    assert likeliest_distances(logits).tolist() == [[3.0] * 4]
    assert torch.allclose(expected_distances(logits), torch.full((1, 4), 3.0))
    even = torch.zeros(1, 4, 5)  # unsure: every distance equally likely, mean 2
    assert torch.allclose(expected_distances(even), torch.full((1, 4), 2.0))


def test_predicted_boxes_are_pixel_exact():
    model = tiny_detector(2, score_thresh=0.0).eval()
    found = model(torch.rand(1, 3, 96, 96))[0]
    assert torch.equal(found["boxes"], found["boxes"].round())


def test_faster_rcnn_small_image_settings_and_outputs():
    torch.manual_seed(0)
    model = faster_rcnn(3)
    assert model.transform.min_size == (96,) and model.transform.max_size == 96
    assert model.rpn.anchor_generator.sizes == ((12,), (24,), (48,))
    assert model.roi_heads.fg_bg_sampler.batch_size_per_image == FASTER_RCNN.settings.box_batch_size_per_image
    losses = model([torch.rand(3, 96, 96), torch.rand(3, 96, 96)], _targets())
    assert {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"} == set(losses)
    model.eval()
    found = model([torch.rand(3, 96, 96)])
    assert set(found[0]) == {"boxes", "scores", "labels"}
    with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
        faster_rcnn(1)
    with pytest.raises(TypeError, match="unknown setting"):
        faster_rcnn(3, anchors=(1,))


def test_detection_data_flips_boxes_with_the_picture(small):
    ds = small("toy-fruit", "train", n=8)
    plain, flipped = DetectionData(ds), DetectionData(ds, flip=True)
    image, target = plain[0]
    assert image.dtype == torch.float32 and image.max() <= 1.0
    torch.manual_seed(0)
    seen_flip = False
    for _ in range(10):
        f_image, f_target = flipped[0]
        if not torch.equal(f_image, image):
            seen_flip = True
            assert torch.equal(f_image, image.flip(-1))
            x1, y1, x2, y2 = target["boxes"].unbind(1)
            assert torch.equal(f_target["boxes"], torch.stack([96 - x2, y1, 96 - x1, y2], 1))
    assert seen_flip
    images, targets = collate([plain[0], plain[1]])
    assert images.shape == (2, 3, 96, 96) and len(targets) == 2
    assert len(detection_loader(ds, 4)) == 2


def test_detect_runs_in_batches_and_restores_training_mode(small):
    ds = small("toy-fruit", "val", n=5)
    model = tiny_detector(2).train()
    found = detect(model, ds.images, batch_size=2)
    assert len(found) == 5 and model.training
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        detect(model, ds.images[0])


class _DeviceRecorder(torch.nn.Module):
    """A stand-in detector whose weights live on the ``meta`` device: it records where its inputs
    are and answers with CPU tensors, so a function that forgets to move them is caught."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1, device="meta"))
        self.seen = []

    def forward(self, images):
        self.seen.append((images.device.type, images.dtype))
        return [
            {"boxes": torch.zeros(1, 4), "scores": torch.ones(1), "labels": torch.ones(1, dtype=torch.int64)}
            for _ in images
        ]


def test_detect_feeds_the_model_on_its_device_and_returns_cpu_tensors():
    model = _DeviceRecorder()
    found = detect(model, torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8), batch_size=2)
    assert model.seen == [("meta", torch.float32)] * 3
    assert len(found) == 5 and all(v.device.type == "cpu" for f in found for v in f.values())
