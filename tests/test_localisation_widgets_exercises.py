"""Notebook 02's IoU playground, prediction browser, localisation pictures and exercise checkers."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.patches import Rectangle

from cvlearn.exercises.localisation import check_flip, check_giou, check_xywh_to_xyxy
from cvlearn.plot import show_box_anatomy, show_localisations
from cvlearn.widgets.localisation import iou_picture, iou_playground, prediction_browser


# --------------------------------------------------------------------------------------------
# Widgets and pictures
# --------------------------------------------------------------------------------------------


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


@pytest.mark.parametrize("box, error, word", [((0, 0, 10), ValueError, "four numbers"),
                                              ((10, 0, 0, 10), ValueError, "x2 >= x1"),
                                              ("box", TypeError, "box_a")])
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


def test_show_localisations_draws_a_true_and_a_predicted_box_per_picture():
    images = torch.zeros(3, 3, 16, 16, dtype=torch.uint8)
    true = torch.tensor([[1.0, 1.0, 8.0, 8.0]]).repeat(3, 1)
    pred = true + 2
    fig = show_localisations(images, true, pred, titles=["a", "b", "c"])
    drawn = [ax for ax in fig.axes if ax.patches]
    assert len(drawn) == 3 and all(len(ax.patches) == 2 for ax in drawn)
    assert drawn[0].patches[1].get_linestyle() == "--"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["true box", "predicted box"]  # a key to the two
    with pytest.raises(ValueError, match="one true and one predicted box per image"):
        show_localisations(images, true[:2], pred)
    plt.close("all")


def test_show_localisations_without_predictions_draws_the_true_boxes_only():
    fig = show_localisations(torch.zeros(2, 3, 16, 16, dtype=torch.uint8), torch.tensor([[1.0, 1.0, 8.0, 8.0]] * 2))
    assert [len(ax.patches) for ax in fig.axes] == [1, 1]
    assert not fig.legends  # nothing to tell apart
    plt.close(fig)


def test_box_anatomy_names_all_three_formats():
    fig = show_box_anatomy(torch.zeros(3, 64, 64, dtype=torch.uint8), torch.tensor([10.0, 20.0, 40.0, 30.0]))
    title = fig.axes[0].get_title()
    assert "XYXY (10, 20, 40, 30)" in title and "XYWH (10, 20, 30, 10)" in title and "CXCYWH (25, 25, 30, 10)" in title
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "w = 30" in texts and "h = 10" in texts
    with pytest.raises(ValueError, match="x2 >= x1"):
        show_box_anatomy(torch.zeros(3, 8, 8), [5, 0, 1, 4])
    plt.close("all")


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


# --------------------------------------------------------------------------------------------
# Checkers: the notebook's worked solutions pass, wrong answers get a helpful hint
# --------------------------------------------------------------------------------------------


def xywh_to_xyxy(boxes):
    x, y, w, h = boxes.unbind(dim=1)
    return torch.stack([x, y, x + w, y + h], dim=1)


def giou(boxes1, boxes2):
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    overlap = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).prod(dim=1)
    union = area1 + area2 - overlap
    enclosing = (torch.maximum(boxes1[:, 2:], boxes2[:, 2:]) - torch.minimum(boxes1[:, :2], boxes2[:, :2])).prod(dim=1)
    return overlap / union - (enclosing - union) / enclosing


def flip(image, box):
    width = image.shape[-1]
    x1, y1, x2, y2 = box
    return image.flip(-1), torch.stack([width - x2, y1, width - x1, y2])


def test_solutions_pass(capsys):
    assert check_xywh_to_xyxy(xywh_to_xyxy)
    assert check_giou(giou)
    assert check_flip(flip)
    assert capsys.readouterr().out.count("✓") == 3


def _fails(feedback, *words):
    assert not feedback and feedback.message
    for word in words:
        assert word in feedback.message, feedback.message


@pytest.mark.parametrize("answer, words", [
    (lambda b: b, ["unchanged", "x + width"]),
    (lambda b: torch.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 3], b[:, 1] + b[:, 2]], 1), ["swapped"]),
    (lambda b: torch.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2] - 1, b[:, 1] + b[:, 3] - 1], 1), ["no -1"]),
    (lambda b: torch.cat([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], 1), ["centre"]),
    (lambda b: b[:, :2], ["shape"]),
    (lambda b: 1 / 0, ["ZeroDivisionError"]),
    ("not a function", ["expected a function"]),
])
def test_box_format_checker_rejects_wrong_answers(answer, words):
    _fails(check_xywh_to_xyxy(answer, quiet=True), *words)


def test_box_format_checker_rejects_changing_the_input():
    def in_place(boxes):
        boxes[:, 2:] += boxes[:, :2]
        return boxes
    _fails(check_xywh_to_xyxy(in_place, quiet=True), "changed its input")


def _plain_iou(boxes1, boxes2):
    from cvlearn.metrics.localisation import paired_iou
    return paired_iou(boxes1, boxes2)


def _unclamped(boxes1, boxes2):
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    overlap = (bottom_right - top_left).prod(dim=1)  # negative times negative: a phantom overlap
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).prod(dim=1)
    union = area1 + area2 - overlap
    enclosing = (torch.maximum(boxes1[:, 2:], boxes2[:, 2:]) - torch.minimum(boxes1[:, :2], boxes2[:, :2])).prod(dim=1)
    return overlap / union - (enclosing - union) / enclosing


@pytest.mark.parametrize("answer, words", [
    (_plain_iou, ["plain IoU", "enclosing"]),
    (_unclamped, ["do not overlap", "clamp"]),
    (lambda a, b: __import__("torchvision").ops.generalized_box_iou(a, b), ["every box against every box"]),
    (lambda a, b: torch.zeros(len(a) + 1), ["shape"]),
    (lambda a, b: a.missing, ["AttributeError"]),
])
def test_giou_checker_rejects_wrong_answers(answer, words):
    _fails(check_giou(answer, quiet=True), *words)


@pytest.mark.parametrize("answer, words", [
    (lambda img, box: (img.flip(-2), box), ["top to bottom"]),
    (lambda img, box: (img, box), ["not mirrored"]),
    (lambda img, box: (img.flip(-1), torch.stack([img.shape[-1] - box[0], box[1], img.shape[-1] - box[2], box[3]])),
     ["x1 ended up right of x2"]),
    (lambda img, box: (img.flip(-1), torch.stack([img.shape[-1] - 1 - box[2], box[1], img.shape[-1] - 1 - box[0], box[3]])),
     ["no -1"]),
    (lambda img, box: (img.flip(-1), torch.stack([img.shape[-2] - box[2], box[1], img.shape[-2] - box[0], box[3]])),
     ["used the height"]),
    (lambda img, box: (img.flip(-1), torch.stack([img.shape[-1] - box[2], box[1] + 1, img.shape[-1] - box[0], box[3]])),
     ["y1 and y2 alone"]),
    (lambda img, box: img.flip(-1), ["return two things"]),
    (lambda img, box: (img.flip(-1), box[:2]), ["four numbers"]),
])
def test_flip_checker_rejects_wrong_answers(answer, words):
    _fails(check_flip(answer, quiet=True), *words)
