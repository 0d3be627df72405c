"""Augmentations move every annotation with the picture: ``check_consistent`` finds nothing wrong
with any augmented sample of any registered dataset, and does find planted errors."""

from pathlib import Path

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from cvlearn import augment, data
from cvlearn.augment import (
    AUGMENTATIONS,
    CopyPaste,
    KeypointAware,
    boxes_from_masks,
    check_consistent,
    compose,
    fix_targets,
)
from cvlearn.toyworld import PERSON_KEYPOINTS
from tests import standins

DATASETS = data.registry.names()
SEEDS = (0, 1, 2)
TOY_N, REAL_N = 6, 4


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Torch on one thread: many tiny tensor operations gain nothing from more on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def load(small, tmp_path_factory):
    """``load(name)``: a few training samples of any registered dataset, toy or real (a stand-in)."""
    root: Path = tmp_path_factory.mktemp("standins")
    cache: dict[str, data.AnyDataset] = {}

    def get(name: str) -> data.AnyDataset:
        if name not in cache:
            if data.registry.get(name).kind == "real":
                standins.write(name, root)
                cache[name] = data.load(name, "train", root=root, n=REAL_N, progress=False)
            else:
                cache[name] = small(name, "train", n=TOY_N)
        return cache[name]

    return get


def _samples(dataset) -> list:
    return [dataset[i] for i in range(len(dataset))]


def _has_masks(dataset) -> bool:
    return "masks" in dataset[0][1]


def _assert_same(first, second):
    (image1, target1), (image2, target2) = first, second
    assert torch.equal(image1, image2) and target1.keys() == target2.keys()
    for key, value in target1.items():
        same = torch.equal(value, target2[key]) if isinstance(value, torch.Tensor) else value == target2[key]
        assert same, key


# --------------------------------------------------------------------------------------------
# The property, for every dataset and augmentation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
def test_the_datasets_own_samples_are_consistent(load, name):
    for i, sample in enumerate(_samples(load(name))):
        assert check_consistent(*sample) == [], (name, i)


@pytest.mark.parametrize("augmentation", [*AUGMENTATIONS, "all"])
@pytest.mark.parametrize("name", DATASETS)
def test_augmented_samples_are_consistent(load, name, augmentation):
    dataset = load(name)
    usable = [a for a in AUGMENTATIONS if a != "copy_paste" or _has_masks(dataset)]
    if augmentation not in (*usable, "all"):
        pytest.skip(f"{name} has no masks to copy and paste")
    transform = compose(usable if augmentation == "all" else [augmentation], source=dataset)
    samples = _samples(dataset)
    for seed in SEEDS:
        torch.manual_seed(seed)
        for i, sample in enumerate(samples):
            image, target = transform(*sample)
            assert tuple(image.shape) == tuple(sample[0].shape), "pictures keep their size, so batches stack"
            assert check_consistent(image, target) == [], (name, augmentation, seed, i)


# --------------------------------------------------------------------------------------------
# check_consistent finds planted errors
# --------------------------------------------------------------------------------------------


def _wrap_boxes(target, boxes):
    return tv_tensors.wrap(boxes, like=target["boxes"])


def _shift_box(image, target):
    return {**target, "boxes": _wrap_boxes(target, target["boxes"] + torch.tensor([2.0, 0.0, 2.0, 0.0]))}


def _visible_joint(target) -> tuple[int, int]:
    n, k = torch.nonzero(target["keypoints"][..., 2] == 2)[0].tolist()
    return n, k


def _joint_off_box(image, target):
    keypoints = target["keypoints"].clone()
    n, k = _visible_joint(target)
    x1, _, x2, _ = target["boxes"][n].tolist()
    # still in the picture, 5 px beside the box
    keypoints[n, k, 0] = x2 + 5 if x2 + 5 <= image.shape[-1] else x1 - 5
    return {**target, "keypoints": keypoints}


def _joint_off_picture(image, target):
    keypoints = target["keypoints"].clone()
    keypoints[_visible_joint(target) + (0,)] = image.shape[-1] + 3
    return {**target, "keypoints": keypoints}


def _unlabelled_joint_with_position(image, target):
    keypoints = target["keypoints"].clone()
    keypoints[0, 0] = torch.tensor([4.0, 4.0, 0.0])
    return {**target, "keypoints": keypoints}


def _one_label_short(image, target):
    return {**target, "labels": target["labels"][:-1]}


def _masks_overlap(image, target):
    masks = target["masks"].clone()
    masks[1] |= masks[0]
    return {**target, "masks": tv_tensors.Mask(masks), "boxes": boxes_from_masks(masks)}


def _semantic_repainted(image, target):
    semantic = target["semantic"].clone()
    rows, columns = torch.nonzero(target["masks"][0], as_tuple=True)
    semantic[rows[0], columns[0]] = 0
    return {**target, "semantic": tv_tensors.Mask(semantic)}


def _panoptic_renumbered(image, target):
    return {**target, "panoptic": tv_tensors.Mask(torch.where(target["masks"][0], 7, target["panoptic"]))}


def _count_off_by_one(image, target):
    return {**target, "count": target["count"] + 1}


def _point_off_picture(image, target):
    points = target["points"].clone()
    points[0, 1] = -1.0
    return {**target, "points": points}


def _degenerate_box(image, target):
    boxes = target["boxes"].clone()
    boxes[0, 2] = boxes[0, 0]
    return {**target, "boxes": _wrap_boxes(target, boxes)}


PLANTED = [
    ("toy-street", _shift_box, "is not its mask's box"),
    ("toy-street", _joint_off_box, "visible joints more than 1.0 px outside the box"),
    ("toy-street", _joint_off_picture, "outside the (128, 128) picture"),
    ("toy-street", _unlabelled_joint_with_position, "v = 0 must have x = y = 0"),
    ("toy-street", _one_label_short, "disagree on the number of objects"),
    ("toy-street", _masks_overlap, "masks overlap"),
    ("toy-street", _semantic_repainted, "several semantic classes"),
    ("toy-street", _panoptic_renumbered, "panoptic disagrees"),
    ("toy-crowd", _count_off_by_one, "count is"),
    ("toy-crowd", _point_off_picture, "point outside"),
    ("voc2012", _degenerate_box, "degenerate box"),
]


@pytest.mark.parametrize("name, plant, expected", PLANTED, ids=[plant.__name__.strip("_") for _, plant, _ in PLANTED])
def test_check_consistent_finds_planted_errors(load, name, plant, expected):
    dataset = load(name)
    # a sample with at least two objects
    image, target = next(s for s in _samples(dataset) if len(s[1]["labels"]) >= 2)
    assert check_consistent(image, target) == []
    problems = check_consistent(image, plant(image, target))
    assert any(expected in problem for problem in problems), problems


# --------------------------------------------------------------------------------------------
# Each augmentation does what it says
# --------------------------------------------------------------------------------------------


def _synthetic(objects: list[tuple[int, tuple[int, int, int, int]]], size: tuple[int, int] = (40, 40)):
    """A sample of (label, (top, bottom, left, right)) rectangles, each painted in semantic class
    ``label``, with one visible joint at each rectangle's centre."""
    masks = torch.zeros(len(objects), *size, dtype=torch.bool)
    for k, (_, (top, bottom, left, right)) in enumerate(objects):
        masks[k, top:bottom, left:right] = True
    labels = torch.tensor([label for label, _ in objects])
    semantic = (masks.long() * labels.view(-1, 1, 1)).sum(dim=0)
    centres = [[(left + right) / 2, (top + bottom) / 2, 2.0] for _, (top, bottom, left, right) in objects]
    target = {
        "boxes": boxes_from_masks(masks),
        "labels": labels,
        "masks": tv_tensors.Mask(masks),
        "semantic": tv_tensors.Mask(semantic),
        "keypoints": torch.tensor(centres).view(-1, 1, 3),
    }
    image = tv_tensors.Image(
        torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    )
    return image, target


def test_crop_drops_objects_cut_off():
    corners = [(0, 3, 0, 3), (0, 3, 37, 40), (37, 40, 0, 3), (37, 40, 37, 40)]
    image, target = _synthetic([(k + 1, corner) for k, corner in enumerate(corners)] + [(5, (15, 25, 15, 25))])
    crop = augment.crop(side=(0.5, 0.5))  # a 20 x 20 window holds at most one corner, and part of the centre
    kept = []
    for seed in range(5):
        torch.manual_seed(seed)
        out_image, out = crop(image, target)
        assert check_consistent(out_image, out) == []
        labels = out["labels"].tolist()
        assert 5 in labels and len(labels) <= 2
        assert len(out["boxes"]) == len(out["masks"]) == len(out["keypoints"]) == len(labels)
        kept.append(labels)
    assert [5] in kept, "some crops hold no corner at all"


def test_fix_targets_without_masks_drops_every_row_of_a_degenerate_box():
    # 4 objects on a picture 4 px high: a semantic map (4, 16) must not be cut like a per-object key
    boxes = tv_tensors.BoundingBoxes(
        [[0, 0, 8, 4], [3, 1, 3, 3], [4, 0, 20, 2], [-2, 1, 5, 4]], format="XYXY", canvas_size=(4, 16)
    )
    target = {
        "boxes": boxes,
        "labels": torch.tensor([1, 2, 3, 4]),
        "difficult": torch.tensor([False, True, False, True]),
        "semantic": tv_tensors.Mask(torch.zeros(4, 16, dtype=torch.long)),
    }
    image, fixed = fix_targets(torch.zeros(3, 4, 16, dtype=torch.uint8), target)
    assert fixed["labels"].tolist() == [1, 3, 4] and fixed["difficult"].tolist() == [False, False, True]
    assert fixed["boxes"].tolist() == [[0, 0, 8, 4], [4, 0, 16, 2], [0, 1, 5, 4]]
    assert fixed["semantic"].shape == (4, 16) and check_consistent(image, fixed) == []


def test_flip_moves_joints_and_swaps_left_and_right(load):
    image, target = next(s for s in _samples(load("toy-street")) if (s[1]["keypoints"][..., 2] == 2).any())
    flip = augment.flip(p=1.0)
    flipped_image, flipped = flip(image, target)
    width = image.shape[-1]
    left, right = PERSON_KEYPOINTS.index("left_wrist"), PERSON_KEYPOINTS.index("right_wrist")
    before, after = target["keypoints"][:, right], flipped["keypoints"][:, left]
    labelled = before[:, 2] > 0
    assert torch.equal(after[:, 2], before[:, 2])
    assert torch.allclose(after[labelled, 0], width - before[labelled, 0]) and torch.equal(after[:, 1], before[:, 1])
    assert torch.equal(flipped_image, image.flip(-1)) and torch.equal(flipped["masks"], target["masks"].flip(-1))
    again_image, again = flip(flipped_image, flipped)
    assert torch.equal(again_image, image) and torch.equal(again["boxes"], target["boxes"])
    assert torch.allclose(again["keypoints"], target["keypoints"], atol=1e-4)


def test_colour_leaves_the_target_identical(load):
    image, target = load("toy-street")[0]
    torch.manual_seed(0)
    new_image, new_target = compose("colour")(image, target)
    assert not torch.equal(new_image, image)
    _assert_same((image, new_target), (image, target))


def test_the_same_seed_gives_the_same_sample(load):
    dataset = load("toy-street")
    transform = compose(list(AUGMENTATIONS), source=dataset)
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        runs.append([transform(*dataset[i]) for i in range(3)])
    for first, second in zip(*runs):
        _assert_same(first, second)


def test_copy_paste_covers_what_it_pastes_on():
    # A (label 1) carries joints at (5.5, 5.5) and (9.5, 9.5); B (label 2) is small
    image, target = _synthetic([(1, (2, 11, 2, 11)), (2, (12, 15, 12, 15))], size=(20, 20))
    target["keypoints"] = torch.tensor([[[5.5, 5.5, 2.0], [9.5, 9.5, 2.0]], [[13.5, 13.5, 2.0], [0.0, 0.0, 0.0]]])
    target["panoptic"] = tv_tensors.Mask(target["semantic"] * 1000 + torch.tensor([0, 1, 2])[target["semantic"]])
    assert check_consistent(image, target) == []
    # the source's one object (label 1) covers A's first joint and all of B
    paste = torch.zeros(1, 20, 20, dtype=torch.bool)
    paste[0, 0:8, 0:8] = True
    paste[0, 11:17, 11:17] = True
    source_target = {
        "boxes": boxes_from_masks(paste),
        "labels": torch.tensor([1]),
        "masks": tv_tensors.Mask(paste),
        "semantic": tv_tensors.Mask(paste[0].long()),
        "keypoints": torch.tensor([[[3.5, 3.5, 2.0], [0.0, 0.0, 0.0]]]),
    }
    source_image = tv_tensors.Image(torch.full((3, 20, 20), 255, dtype=torch.uint8))
    out_image, out = CopyPaste([(source_image, source_target)], p=1.0)(image, target)
    assert check_consistent(out_image, out) == []
    assert out["labels"].tolist() == [1, 1], "B, covered entirely, is gone"
    assert torch.equal(out["masks"][0], target["masks"][0] & ~paste[0]) and torch.equal(out["masks"][1], paste[0])
    assert out["boxes"].tolist() == [[2, 2, 11, 11], [0, 0, 17, 17]]
    assert out["keypoints"][0, :, 2].tolist() == [1, 2], "A's joint under the pasted object is hidden"
    assert out["keypoints"][1].tolist() == [[3.5, 3.5, 2.0], [0.0, 0.0, 0.0]]
    assert torch.equal(out_image[:, paste[0]], source_image[:, paste[0]])
    assert out["semantic"][paste[0]].eq(1).all() and set(out["panoptic"].unique().tolist()) == {0, 1001, 1002}


def test_copy_paste_needs_masks(load):
    with pytest.raises(ValueError, match="source must have instance masks"):
        CopyPaste(load("voc2012"))
    with pytest.raises(ValueError, match="pass source="):
        compose(["flip", "copy_paste"])


def test_an_unknown_name_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown augmentation 'mixup'.*'colour', 'copy_paste', 'crop'"):
        compose(["flip", "mixup"])


def test_keypoint_aware_refuses_flips_that_would_not_swap_joints(load):
    image, target = load("toy-street")[0]
    with pytest.raises(ValueError, match="HorizontalFlip"):
        KeypointAware(v2.Compose([v2.RandomHorizontalFlip(p=1.0)]))(image, target)
