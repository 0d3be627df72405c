"""cvlearn.metrics.keypoints: OKS by hand, against pycocotools' computeOks, and COCO keypoint AP."""

import math

import numpy as np
import pytest
import torch

from cvlearn import toyworld
from cvlearn.metrics.coco import KEYPOINT_CATEGORY, coco_evaluate, coco_evaluator
from cvlearn.metrics.keypoints import KEYPOINT_SIGMAS, keypoint_metrics, object_keypoint_similarity, oks_matrix


def _street(small, n=20):
    ds = small("toy-street", "val", n=n)
    return ds, [ds[i][1] for i in range(len(ds))]


def _predictions(targets, noise=0.0, seed=0):
    """Keypoint R-CNN-style predictions: the true boxes and labels, joints moved by ``noise`` px."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for t in targets:
        joints = t["keypoints"].clone()
        joints[..., :2] += noise * torch.randn(joints[..., :2].shape, generator=g)
        joints[..., 2] = 1  # torchvision predicts every joint "visible"
        scores = torch.rand(len(t["labels"]), generator=g) * 0.5 + 0.5
        out.append({"boxes": t["boxes"], "labels": t["labels"], "scores": scores, "keypoints": joints})
    return out


def test_sigmas_are_cocos_for_the_course_joints():
    assert len(KEYPOINT_SIGMAS) == len(toyworld.PERSON_KEYPOINTS) == 13
    sigma = dict(zip(toyworld.PERSON_KEYPOINTS, KEYPOINT_SIGMAS))
    assert sigma["head"] == 0.026 and sigma["left_wrist"] == sigma["right_wrist"] == 0.062
    assert sigma["left_hip"] == 0.107 and sigma["right_ankle"] == 0.089
    assert sigma["left_wrist"] < sigma["left_elbow"] < sigma["left_shoulder"] < sigma["left_hip"]


def test_oks_of_a_small_case_by_hand():
    # two joints, the second unlabelled (v = 0): only the first counts
    true = [[10.0, 10.0, 2], [20.0, 20.0, 0]]
    pred = [[13.0, 14.0, 1], [90.0, 90.0, 1]]
    area, sigmas = 100.0, (0.1, 0.1)
    # d² = 3² + 4² = 25; s² k² = 100 · (2 · 0.1)² = 4; OKS = exp(-25 / (2 · 4))
    assert object_keypoint_similarity(pred, true, area, sigmas) == pytest.approx(math.exp(-25 / 8))
    both = [[10.0, 10.0, 2], [20.0, 20.0, 1]]  # a hidden but labelled joint (v = 1) counts
    assert object_keypoint_similarity(pred, both, area, sigmas) == pytest.approx(
        (math.exp(-25 / 8) + math.exp(-2 * 70**2 / 8)) / 2
    )


def test_oks_is_one_when_exact_and_falls_with_distance(small):
    _, targets = _street(small, 6)
    person = next(t for t in targets if (t["labels"] == 1).any())
    k = int(torch.nonzero(person["labels"] == 1)[0])
    true, area = person["keypoints"][k], float(person["masks"][k].sum())
    assert object_keypoint_similarity(true, true, area) == pytest.approx(1.0)
    values = [object_keypoint_similarity(true + torch.tensor([d, 0.0, 0.0]), true, area) for d in (0.5, 1, 2, 4, 8)]
    assert all(a > b for a, b in zip(values, values[1:])) and values[-1] < 0.1
    # a larger person forgives the same error more: scale is part of the score
    assert object_keypoint_similarity(true + torch.tensor([2.0, 0, 0]), true, 4 * area) > values[2]


def test_oks_matrix_pairs_every_prediction_with_every_person():
    true = torch.tensor([[[0.0, 0.0, 2], [10.0, 0.0, 2]], [[50.0, 50.0, 2], [60.0, 50.0, 2]]])
    pred = torch.stack([true[1, :, :2], true[0, :, :2] + 1, true[1, :, :2] + 100])
    m = oks_matrix(pred, true, [400.0, 400.0], (0.1, 0.1))
    assert m.shape == (3, 2) and m.dtype == torch.float64
    assert m[0, 1] == pytest.approx(1.0) and m[1, 0] == pytest.approx(math.exp(-2 / (2 * 400 * 0.04)))
    assert m[2].max() < 1e-6 and m[0, 0] < 1e-6
    none_labelled = true.clone()
    none_labelled[0, :, 2] = 0
    assert torch.isnan(oks_matrix(pred, none_labelled, [400.0, 400.0], (0.1, 0.1))[:, 0]).all()


def test_oks_matrix_equals_pycocotools_compute_oks(small):
    ds, targets = _street(small)
    predictions = _predictions(targets, noise=2.0)
    evaluator = coco_evaluator(
        predictions, targets, ("background", "person"), (ds.size, ds.size), "keypoints",
        ds.spec.keypoints, ds.spec.skeleton, KEYPOINT_SIGMAS,
    )  # fmt: skip
    worst, compared = 0.0, 0
    for image_id in evaluator.params.imgIds:
        reference = np.asarray(evaluator.computeOks(image_id, KEYPOINT_CATEGORY))
        gts, dts = evaluator._gts[image_id, KEYPOINT_CATEGORY], evaluator._dts[image_id, KEYPOINT_CATEGORY]
        if not len(reference):
            continue
        dts = sorted(dts, key=lambda d: -d["score"])  # computeOks's order, best first
        pred = torch.tensor([d["keypoints"] for d in dts], dtype=torch.float64).reshape(len(dts), -1, 3)
        true = torch.tensor([g["keypoints"] for g in gts], dtype=torch.float64).reshape(len(gts), -1, 3)
        mine = oks_matrix(pred, true, [g["area"] for g in gts]).numpy()
        labelled = (true[:, :, 2] > 0).any(1).numpy()  # COCO ignores people without labelled joints
        worst = max(worst, float(np.abs(mine - reference)[:, labelled].max()))
        compared += int(labelled.sum()) * len(dts)
    assert compared > 20 and worst <= 1e-6


def test_keypoint_ap_is_one_for_the_truth_and_falls_with_noise(small):
    ds, targets = _street(small)
    size = (ds.size, ds.size)
    perfect = keypoint_metrics(_predictions(targets), targets, ds.spec.keypoints, ds.spec.skeleton, size)
    assert set(perfect) == {"keypoint_ap", "keypoint_ap50", "keypoint_ap75"}
    assert all(v == pytest.approx(1.0) for v in perfect.values())
    noisy = keypoint_metrics(_predictions(targets, noise=1.5), targets, ds.spec.keypoints, ds.spec.skeleton, size)
    assert noisy["keypoint_ap"] < noisy["keypoint_ap50"] <= 1.0 and noisy["keypoint_ap"] < 0.9


def test_cars_and_their_joints_are_not_scored(small):
    ds, targets = _street(small)
    assert any((t["labels"] == 2).any() for t in targets)
    predictions = _predictions(targets)
    for p in predictions:  # cars' joints are garbage: they must change nothing
        p["keypoints"][p["labels"] == 2] = 1000.0
    scores = keypoint_metrics(predictions, targets, ds.spec.keypoints, ds.spec.skeleton, (ds.size, ds.size))
    assert scores["keypoint_ap"] == pytest.approx(1.0)


def test_bad_input_names_the_argument(small):
    ds, targets = _street(small, 4)
    true = torch.zeros(2, 13, 3)
    with pytest.raises(ValueError, match="pred must be"):
        oks_matrix(torch.zeros(2, 13), true, [1.0, 1.0])
    with pytest.raises(ValueError, match="same joints"):
        oks_matrix(torch.zeros(1, 12, 3), true, [1.0, 1.0])
    with pytest.raises(ValueError, match="areas must be"):
        oks_matrix(torch.zeros(1, 13, 3), true, [1.0, 0.0])
    with pytest.raises(ValueError, match="sigmas must be 13"):
        oks_matrix(torch.zeros(1, 13, 3), true, [1.0, 1.0], (0.1,) * 12)
    with pytest.raises(ValueError, match="one person's"):
        object_keypoint_similarity(torch.zeros(1, 13, 3), true[0], 1.0)
    with pytest.raises(ValueError, match="sigmas"):
        coco_evaluate(_predictions(targets), targets, ds.categories, (ds.size, ds.size), "keypoints", ds.spec.keypoints)
    broken = _predictions(targets)
    broken[0]["keypoints"] = broken[0]["keypoints"][:, :, :2]
    with pytest.raises(ValueError, match="keypoints must be"):
        keypoint_metrics(broken, targets, ds.spec.keypoints, ds.spec.skeleton, (ds.size, ds.size))
