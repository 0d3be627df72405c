"""cvlearn.recipes.keypoints: the pose configuration, flips that swap joints, batches of people and
the quick run's schema."""

from dataclasses import replace

import torch
from torchvision import tv_tensors

from cvlearn import recipes
from cvlearn.models.keypoints import POSE
from cvlearn.recipes import RECIPES
from cvlearn.recipes import keypoints as pose_recipe
from cvlearn.recipes.keypoints import (
    CONFIG,
    QUICK,
    QUICK_SIZES,
    RandomHorizontalFlipJoints,
    people_only,
    pose_batch,
    train_loader,
)
from cvlearn.toyworld import PERSON_KEYPOINTS


def test_config_trains_the_person_only_model_on_toy_street_with_flips():
    assert CONFIG.dataset == "toy-street" and CONFIG.settings == POSE
    assert CONFIG.person_only and CONFIG.num_classes == 2 and replace(CONFIG, person_only=False).num_classes == 3
    assert CONFIG.flips and CONFIG.image_size in (96, 128)
    assert QUICK.settings == CONFIG.settings and QUICK_SIZES["train"] <= 100
    assert RECIPES["pose"] is pose_recipe.pose and isinstance(pose_recipe, recipes.RecipeModule)
    assert set(CONFIG.as_dict()) >= {"batch_size", "epochs", "lr", "image_size", "settings"}


def test_flip_moves_image_boxes_masks_and_joints_and_swaps_sides(small):
    ds = small("toy-street", "train", n=4)
    image, target = ds[0]
    flip = RandomHorizontalFlipJoints(p=1.0)
    flipped_image, flipped = flip(image, target)
    w = image.shape[-1]
    assert torch.equal(flipped_image, image.flip(-1)) and isinstance(flipped_image, tv_tensors.Image)
    assert torch.equal(flipped["masks"], target["masks"].flip(-1))
    assert torch.allclose(flipped["boxes"][:, [2, 0]], w - target["boxes"][:, [0, 2]])
    left, right = PERSON_KEYPOINTS.index("left_knee"), PERSON_KEYPOINTS.index("right_knee")
    kp, out = target["keypoints"], flipped["keypoints"]
    labelled = kp[:, left, 2] > 0
    assert torch.allclose(out[labelled, right, 0], w - kp[labelled, left, 0])
    assert torch.equal(out[:, right, 2], kp[:, left, 2]) and torch.equal(out[:, 0, 1], kp[:, 0, 1])
    twice = flip(*flip(image, target))
    assert torch.equal(twice[0], image) and torch.allclose(twice[1]["keypoints"], kp)
    assert RandomHorizontalFlipJoints(p=0.0)(image, target)[1] is target


def test_batches_hold_people_only_as_plain_tensors(small):
    ds = small("toy-street", "train", n=8)
    cars = next(i for i in range(len(ds)) if (ds.target(i)["labels"] == 2).any())
    images, targets = pose_batch([ds[cars], ds[0]])
    assert images[0].dtype == torch.float32 and float(images[0].max()) <= 1
    t = targets[0]
    assert set(t) == {"boxes", "labels", "keypoints"} and (t["labels"] == 1).all()
    assert len(t["boxes"]) == len(t["keypoints"]) == int((ds.target(cars)["labels"] == 1).sum())
    assert type(t["boxes"]) is torch.Tensor and t["keypoints"].shape[1:] == (13, 3)
    _, both = pose_batch([ds[cars]], person_only=False)
    assert (both[0]["labels"] == 2).any()
    kept = people_only(ds.target(cars))
    assert kept["masks"].shape[0] == len(kept["labels"]) and "image_id" in kept
    loader = train_loader(ds, replace(CONFIG, batch_size=4, images_per_epoch=8))
    assert len(loader) == 2


def test_quick_run_reports_the_pose_metrics(monkeypatch):
    # the schema only: one short epoch on a few pictures (the contract test runs the real QUICK)
    monkeypatch.setattr(pose_recipe, "QUICK", replace(QUICK, epochs=1, images_per_epoch=None, batch_size=2))
    monkeypatch.setattr(pose_recipe, "QUICK_SIZES", {"train": 6, "test": 2})
    result = pose_recipe.pose(quick=True, progress=False)
    assert result.recipe == "pose"
    assert set(result.metrics) == {"keypoint_ap50", "keypoint_ap", "train_s"}
    assert all(0 <= result.metrics[k] <= 1 for k in ("keypoint_ap50", "keypoint_ap"))
    assert result.train_images == 6 and result.train_s > 0 and result.params > 0
    assert result.config["dataset"] == "toy-street"
