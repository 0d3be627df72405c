import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.models.detection._utils import BoxCoder, Matcher
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import box_convert
from torchvision.ops import nms as tv_nms

from cvlearn import boxes as B


def random_boxes(n, seed=0, size=100.0, min_side=1.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 2 + min_side
    return torch.cat([xy, xy + wh], dim=1)


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_convert_matches_torchvision_and_round_trips(fmt):
    b = random_boxes(20)
    out = B.convert(b, "xyxy", fmt)
    assert torch.allclose(out, box_convert(b, "xyxy", fmt))
    assert torch.allclose(B.convert(out, fmt, "xyxy"), b, atol=1e-5)


def test_convert_names_bad_arguments():
    with pytest.raises(ValueError, match="in_fmt must be one of"):
        B.convert(random_boxes(2), "xyz", "xyxy")
    with pytest.raises(ValueError, match=r"boxes must have shape \(N, 4\)"):
        B.convert(torch.zeros(3, 5), "xyxy", "xywh")
    with pytest.raises(TypeError, match="boxes must be"):
        B.convert("not boxes", "xyxy", "xywh")


def test_normalise_round_trip():
    b = random_boxes(5)
    n = B.normalise(b, (100, 200))
    assert n[:, 0::2].max() <= 200 / 200 and torch.allclose(B.denormalise(n, (100, 200)), b)
    assert torch.allclose(n[:, 1], b[:, 1] / 100)


def test_grid_points_are_cell_centres():
    p = B.grid_points(2, 3, stride=4)
    assert p.shape == (6, 2)
    assert p[0].tolist() == [2.0, 2.0] and p[2].tolist() == [10.0, 2.0] and p[3].tolist() == [2.0, 6.0]


def test_anchor_boxes_shapes_centres_and_areas():
    a = B.anchor_boxes(4, 5, stride=8, sizes=(12, 24), aspect_ratios=(0.5, 1.0, 2.0))
    assert a.shape == (4 * 5 * 6, 4)
    wh = a[:, 2:] - a[:, :2]
    assert torch.allclose(wh.prod(1).sqrt()[:6], torch.tensor([12.0, 24.0] * 3))
    assert torch.allclose((wh[:6, 1] / wh[:6, 0]), torch.tensor([0.5, 0.5, 1.0, 1.0, 2.0, 2.0]))
    centres = (a[:, :2] + a[:, 2:]) / 2
    assert torch.allclose(centres[::6], B.grid_points(4, 5, 8))


def test_anchor_boxes_match_torchvision_anchor_generator():
    sizes, stride, h, w = (16, 32), 8, 3, 4
    generator = AnchorGenerator(sizes=(sizes,), aspect_ratios=((1.0,),))
    images = ImageList(torch.zeros(1, 3, h * stride, w * stride), [(h * stride, w * stride)])
    tv = generator(images, [torch.zeros(1, 1, h, w)])[0]
    ours = B.anchor_boxes(h, w, stride, sizes, (1.0,), offset=0.0)
    assert torch.equal(ours, tv)


def test_anchor_boxes_reject_bad_sizes():
    with pytest.raises(ValueError, match="sizes must be a positive number"):
        B.anchor_boxes(2, 2, 4, sizes=(0,))
    with pytest.raises(ValueError, match="stride"):
        B.grid_points(2, 2, -1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), weights=st.sampled_from([(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]))
def test_encode_decode_round_trip_and_agree_with_box_coder(seed, weights):
    boxes, anchors = random_boxes(30, seed), random_boxes(30, seed + 1)
    offsets = B.encode(boxes, anchors, weights)
    coder = BoxCoder(weights)
    assert torch.allclose(offsets, coder.encode_single(boxes, anchors), atol=1e-5)
    assert torch.allclose(B.decode(offsets, anchors, weights), boxes, atol=1e-3)
    assert torch.allclose(B.decode(offsets, anchors, weights), coder.decode_single(offsets, anchors), atol=1e-4)


def test_encode_of_a_box_on_its_anchor_is_zero():
    b = random_boxes(4)
    assert torch.allclose(B.encode(b, b), torch.zeros(4, 4), atol=1e-6)
    with pytest.raises(ValueError, match="pair up"):
        B.encode(b, b[:2])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), stride=st.sampled_from([1.0, 4.0, 8.0]))
def test_distances_round_trip(seed, stride):
    boxes = random_boxes(25, seed)
    points = (boxes[:, :2] + boxes[:, 2:]) / 2 + torch.randn(25, 2, generator=torch.Generator().manual_seed(seed))
    d = B.encode_distances(points, boxes, stride)
    assert torch.allclose(B.decode_distances(points, d, stride), boxes, atol=1e-4)


def test_centreness_is_one_at_the_centre_and_falls_to_the_edges():
    c = B.centreness(torch.tensor([[2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 2.0], [0.0, 1.0, 4.0, 1.0]]))
    assert c[0] == pytest.approx(1.0) and 0 < c[1] < 1 and c[2] == 0


def test_assign_points_prefers_the_central_region_and_the_smaller_box():
    points = B.grid_points(6, 6, stride=4)  # centres 2, 6, ..., 22
    boxes = torch.tensor([[0.0, 0.0, 24.0, 24.0], [8.0, 8.0, 16.0, 16.0]])
    index = B.assign_points(points, boxes, stride=4, radius=2.0)
    at = {tuple(p.tolist()): int(i) for p, i in zip(points, index)}
    assert at[(10.0, 10.0)] == 1  # inside both: the smaller wins
    assert at[(2.0, 2.0)] == -1  # inside the big box but far from its centre
    assert at[(6.0, 10.0)] == 0  # near the big box's centre, outside the small one
    assert (B.assign_points(points, torch.zeros(0, 4), 4) == -1).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), high=st.floats(0.3, 0.8), gap=st.floats(0.0, 0.3), low_quality=st.booleans())
def test_match_anchors_agrees_with_torchvision_matcher(seed, high, gap, low_quality):
    g = torch.Generator().manual_seed(seed)
    iou = torch.rand(4, 50, generator=g).round(decimals=1)  # rounded: many ties
    low = max(high - gap, 0.0)
    ours = B.match_anchors(iou, high, low, low_quality)
    theirs = Matcher(high, low, allow_low_quality_matches=low_quality)(iou)
    assert torch.equal(ours, theirs)


def test_match_anchors_without_boxes_is_all_background():
    assert (B.match_anchors(torch.zeros(0, 7)) == B.BELOW_LOW_THRESHOLD).all()
    with pytest.raises(ValueError, match="low <= high"):
        B.match_anchors(torch.zeros(2, 3), high=0.3, low=0.5)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 40),
    threshold=st.floats(0.1, 0.9),
    tied=st.booleans(),
    grid=st.booleans(),
)
def test_nms_by_hand_agrees_with_torchvision(seed, n, threshold, tied, grid):
    boxes = random_boxes(n, seed, size=60)
    if grid:  # whole pixels: exact IoUs, some equal to the threshold
        boxes = boxes.round()
        boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    g = torch.Generator().manual_seed(seed)
    scores = (torch.randint(0, 3, (n,), generator=g).float() / 3) if tied else torch.rand(n, generator=g)
    assert torch.equal(B.nms(boxes, scores, threshold), tv_nms(boxes, scores, threshold))


def test_nms_compares_iou_to_the_threshold_in_double_precision():
    """IoU 1/3 in float32 is 0.33333334, above the double 1/3: torchvision drops the box."""
    boxes = torch.tensor([[0.0, 0.0, 2.0, 1.0], [1.0, 0.0, 3.0, 1.0]])  # IoU = 1 / 3
    scores = torch.tensor([0.9, 0.8])
    assert torch.equal(B.nms(boxes, scores, 1 / 3), tv_nms(boxes, scores, 1 / 3))
    assert B.nms(boxes, scores, 1 / 3).tolist() == [0]


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    keep = B.nms(boxes, torch.tensor([0.8, 0.9, 0.5]), 0.5)
    assert keep.tolist() == [1, 2]
    with pytest.raises(ValueError, match="scores must have shape"):
        B.nms(boxes, torch.tensor([0.1]), 0.5)
    assert B.nms(boxes, torch.tensor([0.8, 0.9, 0.5]), 1.0).tolist() == [1, 0, 2]
