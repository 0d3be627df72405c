"""cvlearn.widgets.applications: the pose explorer's pure functions, its pictures and the widget."""

import numpy as np
import pytest
import torch

from cvlearn.toyworld import PERSON_KEYPOINTS, PERSON_SKELETON
from cvlearn.widgets.applications import (
    PREDICTED_COLOUR,
    count_summary,
    density_explorer,
    density_picture,
    keep_poses,
    panoptic_colours,
    panoptic_explorer,
    panoptic_picture,
    pose_explorer,
    pose_picture,
    shown_bones,
    shown_joints,
)

HEAD = (32.0, 6.0)


def _person(dx: float = 0.0) -> torch.Tensor:
    """(13, 3) joints of a person standing in a 64×64 picture, head at HEAD (shifted by dx), all visible."""
    xy = [
        HEAD,
        (26, 20), (38, 20), (22, 30), (42, 30), (20, 40), (44, 40),  # shoulders, elbows, wrists
        (28, 40), (36, 40), (27, 50), (37, 50), (26, 60), (38, 60),  # hips, knees, ankles
    ]  # fmt: skip
    points = torch.tensor(xy, dtype=torch.float32) + torch.tensor([dx, 0.0])
    return torch.cat([points, torch.full((13, 1), 1.0)], dim=1)


def _prediction() -> dict:
    return {
        "boxes": torch.tensor([[10.0, 2.0, 54.0, 63.0], [12.0, 4.0, 50.0, 60.0], [0.0, 0.0, 5.0, 5.0]]),
        "labels": torch.tensor([1, 1, 1]),
        "scores": torch.tensor([0.3, 0.9, 0.1]),
        "keypoints": torch.stack([_person(2.0), _person(), _person(-20.0)]),
        "keypoints_scores": torch.rand(3, 13, generator=torch.Generator().manual_seed(0)),
    }


def _black() -> torch.Tensor:
    return torch.zeros(3, 64, 64, dtype=torch.uint8)


def test_keep_poses_cuts_every_entry_best_first():
    kept = keep_poses(_prediction(), 0.25)
    assert kept["scores"].tolist() == pytest.approx([0.9, 0.3])
    assert kept["keypoints"].shape == (2, 13, 3) and kept["keypoints_scores"].shape == (2, 13)
    assert torch.equal(kept["keypoints"][0], _person()) and kept["boxes"][0].tolist() == [12.0, 4.0, 50.0, 60.0]
    assert len(keep_poses(_prediction(), 0.95)["keypoints"]) == 0
    with pytest.raises(ValueError, match="score_threshold must be a number between 0 and 1"):
        keep_poses(_prediction(), 2)


def test_shown_joints_and_bones_follow_the_choice_and_the_visibility():
    keypoints = torch.stack([_person(), _person()])
    keypoints[1, 5, 2] = 0  # a left wrist nobody labelled
    shown = shown_joints(keypoints, [0, 5, 6])
    assert shown.sum(1).tolist() == [3, 2] and not shown[1, 5]
    assert shown_joints(keypoints).sum() == 25
    assert shown_bones(PERSON_SKELETON, [0, 1, 2, 5], 13) == [(0, 1), (0, 2), (1, 2)]
    assert shown_bones(PERSON_SKELETON, None, 13) == list(PERSON_SKELETON)
    with pytest.raises(ValueError, match=r"joints must be indices 0..12"):
        shown_joints(keypoints, [13])


def test_pose_picture_is_a_uint8_picture_scale_times_larger():
    one = keep_poses(_prediction(), 0.5)
    picture = pose_picture(_black(), one)
    assert picture.dtype == torch.uint8 and picture.shape == (3, 64, 64)
    head = picture[:, int(HEAD[1]), int(HEAD[0])]
    assert head.tolist() == list(PREDICTED_COLOUR)
    large = pose_picture(_black().float() / 255, one, scale=3)
    assert large.dtype == torch.uint8 and large.shape == (3, 192, 192)
    assert torch.equal(pose_picture(_black(), keep_poses(_prediction(), 0.95)), _black())
    with pytest.raises(ValueError, match="scale must be a positive int"):
        pose_picture(_black(), one, scale=0)


def _distance_to_segment(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ab = b - a
    t = (((points - a) @ ab) / (ab @ ab)).clamp(0, 1)
    return (points - (a + t[:, None] * ab)).norm(dim=1)


def test_a_toggled_off_joint_changes_only_its_own_pixels():
    one = keep_poses(_prediction(), 0.5)
    everything = pose_picture(_black(), one)
    no_head = pose_picture(_black(), one, joints=range(1, 13))
    changed = (everything != no_head).any(0).nonzero().flip(1).float() + 0.5  # (x, y) pixel centres
    assert len(changed) > 0
    head, shoulders = torch.tensor(HEAD), one["keypoints"][0, 1:3, :2]
    # the head's dot and its two bones (to the shoulders) vanish; nothing else moves
    near = torch.stack([_distance_to_segment(changed, head, s) for s in shoulders]).min(0).values
    assert near.max() <= 3.0
    assert no_head[:, int(HEAD[1]), int(HEAD[0])].tolist() == [0, 0, 0]


def test_unlabelled_true_joints_are_not_drawn():
    one = keep_poses(_prediction(), 0.5)
    unlabelled = _person(-20.0)
    unlabelled[:, 2] = 0
    without = pose_picture(_black(), one)
    assert torch.equal(pose_picture(_black(), one, target={"keypoints": unlabelled[None]}), without)
    assert not torch.equal(pose_picture(_black(), one, target={"keypoints": _person(-20.0)[None]}), without)


def test_pose_explorer_redraws_on_each_control():
    panel = pose_explorer([_black()], [_prediction()], [{"keypoints": _person(-20.0)[None]}])
    (_, score), (chosen, every), shown, summary = *(box.children for box in panel.children[:2]), *panel.children[2:]
    first = bytes(shown.value)
    assert first.startswith(b"\x89PNG") and "1 of 3 people" in summary.value and "1 in the truth" in summary.value
    chosen.value = ("head",)
    only_head = bytes(shown.value)
    assert only_head != first
    every.click()
    assert chosen.value == PERSON_KEYPOINTS and bytes(shown.value) == first
    score.value = 0.95
    assert "0 of 3 people" in summary.value and bytes(shown.value) != first
    with pytest.raises(ValueError, match="one prediction"):
        pose_explorer([_black()], [], None)


def test_pose_explorer_takes_a_stacked_batch_of_pictures():
    panel = pose_explorer(torch.stack([_black(), _black()]), [_prediction(), _prediction()])
    assert "people" in panel.children[3].value
    with pytest.raises(ValueError, match="images is empty"):
        pose_explorer(torch.zeros(0, 3, 64, 64, dtype=torch.uint8), [])


# --------------------------------------------------------------------------------------------
# Crowds
# --------------------------------------------------------------------------------------------


def test_density_picture_puts_the_map_beside_the_picture_brightest_where_people_are():
    density = torch.zeros(1, 16, 16)
    density[0, 3, 10] = 2.0  # one bright cell: 4×4 pixels at rows 12..15, columns 40..43
    drawn = density_picture(_black(), density, scale=1)
    assert drawn.shape == (64, 129, 3) and drawn.dtype == np.uint8
    assert drawn[:, :64].max() == 0  # the picture, black, untouched
    right = drawn[:, 65:].astype(int).sum(-1)
    assert right[13, 41] == right.max() > right[40, 10]
    with pytest.raises(ValueError, match="density must be"):
        density_picture(_black(), torch.zeros(5, 5))


def test_count_summary_gives_each_method_its_error():
    assert count_summary(100, 96.5, 80) == "true 100 · density map 96.5 (-3.5) · detections 80 (-20)"
    assert count_summary(10, 12.0) == "true 10 · density map 12.0 (+2.0)"


def test_density_explorer_shows_the_counts_and_refuses_unpaired_lists():
    images = torch.zeros(3, 3, 64, 64, dtype=torch.uint8)
    densities = torch.full((3, 1, 16, 16), 0.5)
    panel = density_explorer(images, densities, torch.tensor([120.0, 130.0, 140.0]), torch.tensor([90, 95, 99]))
    assert panel.children[2].value.startswith("true 120 · density map 128.0")
    panel.children[0].value = 2
    assert panel.children[2].value.startswith("true 140")
    with pytest.raises(ValueError, match="one density map and one true count per picture"):
        density_explorer(images, densities[:2], torch.ones(3))


# --------------------------------------------------------------------------------------------
# Panoptic scenes
# --------------------------------------------------------------------------------------------

PALETTE = np.array([[0, 0, 0], [100, 150, 250], [90, 90, 90], [200, 40, 40]], dtype=np.uint8)


def _scene() -> torch.Tensor:
    """4×4 ids: sky (class 1) on top, road (2) below, two people (class 3, instances 1 and 2), one void pixel."""
    return torch.tensor([[1000, 1000, 1000, 0], [3001, 3002, 1000, 1000], [3001, 3002, 2000, 2000], [2000] * 4])


def test_panoptic_colours_give_stuff_its_class_colour_and_each_thing_its_own_shade():
    colours = panoptic_colours(_scene(), PALETTE, things=[3])
    assert colours[0, 0].tolist() == [100, 150, 250] and colours[3, 0].tolist() == [90, 90, 90]
    assert colours[0, 3].tolist() == [0, 0, 0]  # void
    assert colours[1, 0].tolist() == [200, 40, 40] and colours[1, 1].tolist() != colours[1, 0].tolist()
    with pytest.raises(ValueError, match="palette has 4 colours, but the map has class 7"):
        panoptic_colours(torch.full((2, 2), 7000), PALETTE, things=[3])


def test_panoptic_picture_shows_only_the_chosen_layer():
    white = torch.full((3, 4, 4), 255, dtype=torch.uint8)
    things = panoptic_picture(white, _scene(), PALETTE, [3], layer="things only", alpha=1.0)
    assert things[1, 0].tolist() == [200, 40, 40] and things[0, 0].tolist() == [255, 255, 255]
    stuff = panoptic_picture(white, _scene(), PALETTE, [3], layer="stuff only", alpha=1.0)
    assert stuff[0, 0].tolist() == [100, 150, 250] and stuff[1, 0].tolist() == [255, 255, 255]
    with pytest.raises(ValueError, match="layer must be one of"):
        panoptic_picture(white, _scene(), PALETTE, [3], layer="people")


def test_panoptic_explorer_draws_prediction_beside_truth():
    images = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    panel = panoptic_explorer(images, [_scene(), _scene()], [_scene(), _scene()], PALETTE, [3], scale=2)
    first = panel.children[1].value
    panel.children[0].children[1].value = "things only"
    assert panel.children[1].value != first
    with pytest.raises(ValueError, match="one prediction and one target per picture"):
        panoptic_explorer(images, [_scene()], [_scene(), _scene()], PALETTE, [3])
