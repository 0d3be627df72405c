"""cvlearn.widgets.augment: the augmented copy (same seed, same copy), the annotated picture and
the explorer."""

import numpy as np
import pytest
import torch

from cvlearn.widgets.augment import (
    EVERY_AUGMENTATION,
    annotated_picture,
    augmentation_explorer,
    augmented_sample,
    consistency_line,
    usable_augmentations,
)


@pytest.fixture
def street(small):
    return small("toy-street", "train", n=4)


def test_the_same_seed_gives_the_same_copy_and_another_seed_another(street):
    first = augmented_sample(street, 1, EVERY_AUGMENTATION, seed=3)
    again = augmented_sample(street, 1, EVERY_AUGMENTATION, seed=3)
    other = augmented_sample(street, 1, EVERY_AUGMENTATION, seed=4)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1]["boxes"], again[1]["boxes"])
    assert not torch.equal(first[0], other[0])


def test_the_copy_leaves_the_global_random_state_alone(street):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    augmented_sample(street, 0, "crop", seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_copy_paste_is_offered_only_where_there_are_masks(street, small):
    assert "copy_paste" in usable_augmentations(street)
    assert usable_augmentations(small("toy-pets", "train", n=2)) == usable_augmentations(street)  # pets have masks


def test_annotated_picture_draws_boxes_masks_and_joints(street):
    image, target = street[0]
    plain = np.repeat(np.repeat(image.permute(1, 2, 0).numpy(), 2, 0), 2, 1)
    drawn = annotated_picture(image, target, scale=2)
    assert drawn.shape == plain.shape and drawn.dtype == np.uint8
    changed = (drawn != plain).any(axis=2)
    covered = target["masks"].any(0).repeat_interleave(2, 0).repeat_interleave(2, 1).numpy()
    assert changed[covered].mean() > 0.9  # every object's pixels tinted
    box = (target["boxes"][0] * 2).long().tolist()
    assert changed[box[1], box[0] : box[2]].mean() > 0.9  # its box's top edge drawn
    bare = annotated_picture(image, {"boxes": torch.zeros(0, 4)}, scale=2)
    assert np.array_equal(bare, plain)


def test_consistency_line_says_when_an_annotation_no_longer_fits(street):
    image, target = street[0]
    assert consistency_line(image, target).endswith("every annotation fits the picture ✓")
    shifted = dict(target, boxes=target["boxes"] + 2)
    assert "✗" in consistency_line(image, shifted)


def test_explorer_redraws_when_a_slider_moves(street):
    panel = augmentation_explorer(street)
    sliders, choices, picture, line = panel.children
    before = picture.value
    sliders.children[1].value = 5  # the seed
    assert picture.value != before and "✓" in line.value
    choices.value = "colour"
    assert "✓" in line.value
    with pytest.raises(ValueError, match="augmentations must be among"):
        augmentation_explorer(street, ["mixup"])
