"""cvlearn.exercises.localisation: each checker accepts the worked solution and rejects a wrong answer with a hint."""

import pytest
import torch

from cvlearn.exercises.localisation import buggy_iou, check_fixed_iou, check_flip, check_giou, check_xywh_to_xyxy


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


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda b: b, ["unchanged", "x + width"]),
        (lambda b: torch.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 3], b[:, 1] + b[:, 2]], 1), ["swapped"]),
        (lambda b: torch.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2] - 1, b[:, 1] + b[:, 3] - 1], 1), ["no -1"]),
        (lambda b: torch.cat([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], 1), ["centre"]),
        (lambda b: b[:, :2], ["shape"]),
        (lambda b: 1 / 0, ["ZeroDivisionError"]),
        ("not a function", ["expected a function"]),
    ],
)
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


@pytest.mark.parametrize(
    "answer, words",
    [
        (_plain_iou, ["plain IoU", "enclosing"]),
        (_unclamped, ["do not overlap", "clamp"]),
        (lambda a, b: __import__("torchvision").ops.generalized_box_iou(a, b), ["every box against every box"]),
        (lambda a, b: torch.zeros(len(a) + 1), ["shape"]),
        (lambda a, b: a.missing, ["AttributeError"]),
    ],
)
def test_giou_checker_rejects_wrong_answers(answer, words):
    _fails(check_giou(answer, quiet=True), *words)


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda img, box: (img.flip(-2), box), ["top to bottom"]),
        (lambda img, box: (img, box), ["not mirrored"]),
        (
            lambda img, box: (
                img.flip(-1),
                torch.stack([img.shape[-1] - box[0], box[1], img.shape[-1] - box[2], box[3]]),
            ),
            ["x1 ended up right of x2"],
        ),
        (
            lambda img, box: (
                img.flip(-1),
                torch.stack([img.shape[-1] - 1 - box[2], box[1], img.shape[-1] - 1 - box[0], box[3]]),
            ),
            ["no -1"],
        ),
        (
            lambda img, box: (
                img.flip(-1),
                torch.stack([img.shape[-2] - box[2], box[1], img.shape[-2] - box[0], box[3]]),
            ),
            ["used the height"],
        ),
        (
            lambda img, box: (
                img.flip(-1),
                torch.stack([img.shape[-1] - box[2], box[1] + 1, img.shape[-1] - box[0], box[3]]),
            ),
            ["y1 and y2 alone"],
        ),
        (lambda img, box: img.flip(-1), ["return two things"]),
        (lambda img, box: (img.flip(-1), box[:2]), ["four numbers"]),
    ],
)
def test_flip_checker_rejects_wrong_answers(answer, words):
    _fails(check_flip(answer, quiet=True), *words)


# 4 · debugging: the planted IoU bug


def fixed_iou(boxes1, boxes2):
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    overlap = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).prod(dim=1)
    return overlap / (area1 + area2 - overlap)


def clamps_the_product(boxes1, boxes2):
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    overlap = (bottom_right - top_left).prod(dim=1).clamp(min=0)
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).prod(dim=1)
    return overlap / (area1 + area2 - overlap)


def test_the_planted_bug_shows_on_boxes_that_do_not_touch():
    apart = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    others = torch.tensor([[20.0, 0.0, 30.0, 10.0], [12.0, 12.0, 22.0, 22.0]])
    iou = buggy_iou(apart, others)
    assert iou[0] < 0 < iou[1]  # one side negative: below 0; both negative: above 0
    assert torch.allclose(buggy_iou(apart[:1], apart[:1]), torch.ones(1))  # right where boxes overlap


@pytest.mark.parametrize(
    "answer, words",
    [
        (buggy_iou, ["still the planted bug"]),
        (clamps_the_product, ["clamping the product cannot catch it"]),
        (lambda a, b: fixed_iou(a, b) + 0.1, ["clamp(min=0)"]),
    ],
)
def test_fixed_iou_checker_names_the_usual_wrong_fixes(answer, words):
    assert check_fixed_iou(fixed_iou, quiet=True)
    _fails(check_fixed_iou(answer, quiet=True), *words)
