"""cvlearn.models.keypoints: the Keypoint R-CNN factory, prediction, and left-right flips of joints."""

import pytest
import torch

from cvlearn.models.keypoints import (
    POSE,
    KeypointRCNNSettings,
    flip_keypoints,
    flip_permutation,
    keypointrcnn,
    predict_keypoints,
)
from cvlearn.toyworld import PERSON_KEYPOINTS


def _people(dataset, indices):
    """(images, person-only targets) of ``dataset``'s pictures ``indices``, as Keypoint R-CNN takes them."""
    images, targets = [], []
    for i in indices:
        t = dataset.target(i)
        keep = t["labels"] == 1
        images.append(dataset.images[i].float() / 255)
        targets.append(
            {
                "boxes": t["boxes"].as_subclass(torch.Tensor)[keep],
                "labels": t["labels"][keep],
                "keypoints": t["keypoints"][keep],
            }
        )
    return images, targets


def test_factory_applies_the_small_image_settings():
    assert isinstance(POSE, KeypointRCNNSettings) and POSE.num_keypoints == len(PERSON_KEYPOINTS) == 13
    model = keypointrcnn(2)
    assert model.transform.min_size == (128,) and model.transform.max_size == 128
    assert model.rpn.anchor_generator.sizes == ((16,), (32,), (64,))
    assert max(POSE.aspect_ratios) >= 2  # tall anchors for people standing up
    heads = model.roi_heads
    assert heads.keypoint_roi_pool.featmap_names == ["fine"] and heads.keypoint_roi_pool.sampling_ratio == 1
    assert [m.out_channels for m in heads.keypoint_head if isinstance(m, torch.nn.Conv2d)] == [64] * 4
    assert heads.keypoint_predictor.out_channels == 13
    assert sum(p.numel() for p in model.parameters()) < 3_000_000
    assert keypointrcnn(2, keypoint_stride=4).roi_heads.keypoint_roi_pool.featmap_names == ["0"]
    with pytest.raises(TypeError, match="unknown setting"):
        keypointrcnn(2, heads=3)
    with pytest.raises(ValueError, match="num_classes"):
        keypointrcnn(1)


def test_it_overfits_two_pictures_and_predicts_joints_of_the_right_shapes(small):
    images, targets = _people(small("toy-street", "train", n=2), [0, 1])
    torch.manual_seed(0)
    model = keypointrcnn(2)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    keypoint_losses, totals = [], []
    for _ in range(25):
        losses = model(images, targets)
        assert set(losses) == {
            "loss_classifier",
            "loss_box_reg",
            "loss_keypoint",
            "loss_objectness",
            "loss_rpn_box_reg",
        }
        total = sum(losses.values())
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
        keypoint_losses.append(losses["loss_keypoint"].item())
        totals.append(total.item())
    assert totals[-1] < 0.6 * totals[0] and keypoint_losses[-1] < 0.7 * keypoint_losses[0]
    found = predict_keypoints(model, torch.stack([(image * 255).to(torch.uint8) for image in images]), batch_size=1)
    assert len(found) == 2
    for f in found:
        k = len(f["boxes"])
        assert f["keypoints"].shape == (k, 13, 3) and f["keypoints_scores"].shape == (k, 13)
        assert f["scores"].shape == f["labels"].shape == (k,) and k <= POSE.box_detections_per_img
        assert (f["scores"][:-1] >= f["scores"][1:]).all()


def test_flip_swaps_left_and_right_joints_and_mirrors_x():
    perm = flip_permutation(PERSON_KEYPOINTS)
    assert perm[0] == 0  # the head has no side
    assert [PERSON_KEYPOINTS[j] for j in perm[1:3]] == ["right_shoulder", "left_shoulder"]
    assert [perm[j] for j in perm] == list(range(13))  # swapping twice gives every joint back
    keypoints = torch.zeros(2, 13, 3)
    keypoints[0, :, 0] = torch.arange(13.0) + 10  # x
    keypoints[0, :, 1] = 50
    keypoints[0, :, 2] = 2
    keypoints[0, 5] = torch.tensor([0.0, 0.0, 0.0])  # left wrist unlabelled
    flipped = flip_keypoints(keypoints, 100)
    left_shoulder, right_shoulder = PERSON_KEYPOINTS.index("left_shoulder"), PERSON_KEYPOINTS.index("right_shoulder")
    assert flipped[0, left_shoulder].tolist() == [100 - keypoints[0, right_shoulder, 0].item(), 50, 2]
    assert flipped[0, 0].tolist() == [90, 50, 2]
    right_wrist = PERSON_KEYPOINTS.index("right_wrist")
    assert flipped[0, right_wrist].tolist() == [0, 0, 0]  # unlabelled stays all zero, now on the other side
    assert (flipped[1] == 0).all()  # a car's rows stay zero
    assert torch.equal(flip_keypoints(flipped, 100), keypoints)
    with pytest.raises(ValueError, match="no mirror"):
        flip_permutation(["head", "left_hand"])
