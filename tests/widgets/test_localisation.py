"""cvlearn.widgets.localisation: the IoU playground and the prediction browser."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.patches import Rectangle

from cvlearn.widgets.localisation import iou_picture, iou_playground, prediction_browser


def test_iou_picture_computes_iou_and_draws_boxes_and_overlap():
    iou, fig = iou_picture((0, 0, 10, 10), (5, 5, 15, 15), size=20)
    assert iou == pytest.approx(25 / 175)
    ax = fig.axes[0]
    assert ax.get_title() == "IoU = 25 / 175 = 0.14"
    rectangles = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rectangles) == 3  # box A, box B, the overlap
    overlap = rectangles[2]
    assert (overlap.get_x(), overlap.get_y(), overlap.get_width(), overlap.get_height()) == (5, 5, 5, 5)
    assert ax.get_ylim() == (20, 0)  # y grows downwards, as in an image
    plt.close(fig)


def test_iou_picture_of_disjoint_boxes_has_no_overlap_but_an_enclosing_box():
    iou, fig = iou_picture([0, 0, 4, 4], [10, 10, 20, 20], show_enclosing=True)
    assert iou == 0.0
    labels = [p.get_label() for p in fig.axes[0].patches]
    assert labels == ["box A", "box B", "enclosing"]
    enclosing = fig.axes[0].patches[2]
    assert (enclosing.get_width(), enclosing.get_height()) == (20, 20)
    plt.close(fig)


def test_iou_picture_draws_on_a_given_axis():
    fig, axes = plt.subplots(1, 2)
    iou, same = iou_picture((0, 0, 8, 8), (0, 0, 8, 8), ax=axes[1])
    assert iou == pytest.approx(1.0) and same is fig and len(axes[1].patches) == 3
    plt.close(fig)


@pytest.mark.parametrize(
    "box, error, word",
    [((0, 0, 10), ValueError, "four numbers"), ((10, 0, 0, 10), ValueError, "x2 >= x1"), ("box", TypeError, "box_a")],
)
def test_iou_picture_names_a_bad_box(box, error, word):
    with pytest.raises(error, match=word):
        iou_picture(box, (0, 0, 1, 1))


def test_iou_playground_has_four_sliders_per_box_set_from_the_boxes():
    open_before = set(plt.get_fignums())
    ui = iou_playground(box_a=(8, 12, 36, 40), box_b=(20, 20, 56, 52), size=64)
    columns = ui.children[0].children
    values = [[s.value for s in column.children] for column in columns]
    assert values == [[8, 12, 28, 28], [20, 20, 36, 32]]  # x, y, width, height
    assert all(s.max == 64 for column in columns for s in column.children)
    picture = ui.children[1]
    before = picture.value
    assert bytes(before).startswith(b"\x89PNG")
    columns[1].children[0].value = 30  # moving a slider redraws the picture
    assert bytes(picture.value).startswith(b"\x89PNG") and bytes(picture.value) != bytes(before)
    assert set(plt.get_fignums()) <= open_before  # each drawing is closed once it is a PNG: none piles up


def test_prediction_browser_slides_through_the_pictures():
    images = torch.zeros(4, 3, 16, 16, dtype=torch.uint8)
    boxes = torch.tensor([[1.0, 1.0, 8.0, 8.0]]).repeat(4, 1)
    open_before = set(plt.get_fignums())
    ui = prediction_browser(images, boxes, boxes, [f"picture {i}" for i in range(4)])
    slider, picture = ui.children
    assert (slider.min, slider.max) == (0, 3)
    before = picture.value
    slider.value = 3  # another caption, another picture
    assert bytes(picture.value).startswith(b"\x89PNG") and bytes(picture.value) != bytes(before)
    assert set(plt.get_fignums()) <= open_before
    with pytest.raises(ValueError, match="one true box, predicted box and caption per image"):
        prediction_browser(images, boxes, boxes, ["only one"])
    plt.close("all")
