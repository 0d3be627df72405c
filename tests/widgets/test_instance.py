"""cvlearn.widgets.instance: the score explorer's pure functions and pictures."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from cvlearn.widgets.instance import instance_counts, instance_picture, keep_confident, score_explorer


def _prediction():
    masks = torch.zeros(3, 8, 8, dtype=torch.bool)
    masks[0, 1, :] = True  # a pen along row 1
    masks[1, :, 5] = True  # a pen down column 5
    masks[2, 1, :4] = True  # a low-scored duplicate of the first
    return {
        "boxes": torch.tensor([[0.0, 1.0, 8.0, 2.0], [5.0, 0.0, 6.0, 8.0], [0.0, 1.0, 4.0, 2.0]]),
        "scores": torch.tensor([0.6, 0.9, 0.2]),
        "labels": torch.tensor([1, 1, 1]),
        "masks": masks,
    }


def _target():
    masks = torch.zeros(2, 8, 8, dtype=torch.bool)
    masks[0, 1, :] = True
    masks[1, 6, :] = True  # a pen the model never found
    return {"masks": masks, "labels": torch.tensor([1, 1])}


def test_keep_confident_sorts_and_cuts_without_renumbering():
    kept = keep_confident(_prediction(), 0.5)
    assert kept["scores"].tolist() == pytest.approx([0.9, 0.6])
    assert kept["masks"].shape == (2, 8, 8) and kept["boxes"][0].tolist() == [5.0, 0.0, 6.0, 8.0]
    everything = keep_confident(_prediction(), 0.0)
    assert torch.equal(everything["masks"][:2], kept["masks"])  # IDs 1 and 2 stay the same instances
    assert len(keep_confident(_prediction(), 1.0)["scores"]) == 0
    with pytest.raises(ValueError, match="score_thresh must be a number between 0 and 1"):
        keep_confident(_prediction(), 1.5)


def test_instance_counts_match_masks_greedily():
    counts = instance_counts([_prediction()], [_target()], 0.5)
    assert counts == {"found": 2, "right": 1, "false": 1, "missed": 1, "counted right": 1.0}
    low = instance_counts([_prediction()], [_target()], 0.1)
    assert low["found"] == 3 and low["right"] == 1 and low["false"] == 2 and low["counted right"] == 0.0
    with pytest.raises(ValueError, match="pair up"):
        instance_counts([_prediction()], [], 0.5)


def test_instance_picture_and_explorer():
    fig = instance_picture(torch.zeros(3, 8, 8, dtype=torch.uint8), _prediction(), 0.5, ("background", "pen"))
    assert isinstance(fig, Figure) and "2 instances" in fig.axes[0].get_title()
    plt.close(fig)
    panel = score_explorer(
        [torch.zeros(3, 8, 8, dtype=torch.uint8)], [_prediction()], [_target()], ("background", "pen")
    )
    (_, score), shown, summary = panel.children[0].children, *panel.children[1:]
    first = bytes(shown.value)
    assert first.startswith(b"\x89PNG") and "1 right, 1 false, 1 missed" in summary.value
    score.value = 0.95  # above both predictions' scores: nothing is kept, so the picture and totals change
    assert bytes(shown.value) != first and "0 found" in summary.value
    with pytest.raises(ValueError, match="one prediction and one target per image"):
        score_explorer([torch.zeros(3, 8, 8)], [], [], ("background", "pen"))
