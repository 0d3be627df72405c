import hashlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvlearn import toyworld
from cvlearn.toyworld import SPECS, generate
from tests.conftest import ALL_DATASETS


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_same_seed_same_bytes(name):
    _, a = generate(name, "train", 7, seed=3)
    _, b = generate(name, "train", 7, seed=3)
    for key in ("image", "instances", "semantic", "labels", "boxes"):
        assert getattr(a, key).tobytes() == getattr(b, key).tobytes(), key


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_different_seeds_draw_different_scenes(name):
    images = {generate(name, "train", 0, seed=s)[1].image.tobytes() for s in range(5)}
    assert len(images) == 5


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_render_is_a_pure_function_of_the_scene(name):
    scene, out = generate(name, "val", 2)
    again = toyworld.render(scene)
    assert again.image.tobytes() == out.image.tobytes()
    assert again.instances.tobytes() == out.instances.tobytes()


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_annotations_agree_with_each_other(name):
    spec = SPECS[name]
    for i in range(25):
        _, out = generate(name, "train", i)
        n = len(out.labels)
        assert out.image.shape == (spec.size, spec.size, 3) and out.image.dtype == np.uint8
        assert len(out.labels) == len(out.boxes) == n >= 1
        assert set(np.unique(out.instances)) <= set(range(n + 1))
        for k in range(1, n + 1):
            ys, xs = np.nonzero(out.instances == k)
            assert len(xs) >= spec.min_pixels, "every object keeps visible pixels"
            if not len(xs):  # a crowd's person may be hidden whole: their head still counts
                assert out.boxes[k - 1].tolist() == [0, 0, 0, 0]
                continue
            assert out.boxes[k - 1].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            cls = spec.categories[out.labels[k - 1]]
            assert np.all(out.semantic[out.instances == k] == spec.semantic_classes.index(cls))
        stuff = out.semantic[out.instances == 0]
        things = [spec.semantic_classes.index(c) for c in spec.classes]
        assert not np.isin(stuff, things).any(), "pixels outside every mask are stuff"


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_every_class_appears_across_a_dataset(name):
    spec = SPECS[name]
    labels, semantic = set(), set()
    for i in range(60):
        _, out = generate(name, "train", i)
        labels |= set(out.labels.tolist())
        semantic |= set(np.unique(out.semantic).tolist())
    assert labels == set(range(1, len(spec.categories)))
    assert semantic == set(range(len(spec.semantic_classes)))


def test_cats_and_dogs_share_coat_colours_and_are_balanced():
    kinds = [generate("toy-pets", "train", i)[0].things[0] for i in range(200)]
    cats = [t for t in kinds if t.kind == "cat"]
    assert 0.4 < len(cats) / len(kinds) < 0.6

    def nearest(colour):
        return int(np.argmin([np.abs(np.subtract(colour, coat)).sum() for coat in toyworld.COATS]))

    cat_coats = {nearest(t.colour) for t in cats}
    dog_coats = {nearest(t.colour) for t in kinds if t.kind == "dog"}
    assert cat_coats == dog_coats == set(range(len(toyworld.COATS)))


def test_about_a_third_of_pens_cross_another():
    crossing = total = 0
    for i in range(200):
        pens = generate("toy-pens", "train", i)[0].things
        total += len(pens)
        crossing += sum(any(toyworld._pens_cross(p, q) for q in pens if q is not p) for p in pens)
    assert 0.25 < crossing / total < 0.5, crossing / total


def test_some_sheep_touch():
    touching = 0
    for i in range(100):
        _, out = generate("toy-pasture", "train", i)
        inst = out.instances
        pairs = (inst[:, 1:] != inst[:, :-1]) & (inst[:, 1:] > 0) & (inst[:, :-1] > 0)
        touching += bool(pairs.any())
    assert touching >= 10


def test_render_draws_edges_antialiased():
    _, out = generate("toy-pens", "train", 0)
    spec = SPECS["toy-pens"]
    # supersampling leaves intermediate colours along edges: more distinct colours than shapes
    assert len(np.unique(out.image.reshape(-1, 3), axis=0)) > 500
    assert toyworld.SUPERSAMPLE >= 2 and spec.size == out.image.shape[0]


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 5),
    st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15), st.integers(1, 4), st.integers(1, 4)), max_size=5),
)
def test_boxes_from_instances_are_exact_extents(count_extra, rects):
    inst = np.zeros((20, 20), dtype=np.uint8)
    for k, (x, y, w, h) in enumerate(rects, start=1):
        inst[y : y + h, x : x + w] = k
    count = len(rects) + count_extra
    boxes = toyworld.boxes_from_instances(inst, count)
    assert boxes.shape == (count, 4)
    for k in range(1, count + 1):
        ys, xs = np.nonzero(inst == k)
        expected = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else [0, 0, 0, 0]
        assert boxes[k - 1].tolist() == expected


def test_scene_is_readable_description():
    scene, _ = generate("toy-fruit", "test", 1)
    assert scene.dataset == "toy-fruit" and all(t.kind in ("apple", "orange") for t in scene.things)
    assert all(0 <= t.x <= 1 and 0 <= t.y <= 1 and t.scale > 0 and math.isfinite(t.angle) for t in scene.things)


def test_pose_draws_an_ellipse_where_its_local_points_land():
    # The fused affine map of _Pose.ellipse against the two-step route: points, then pose.
    thing = toyworld.Thing("sheep", 0.4, 0.6, 0.3, angle=17.0, flip=True)
    pose = toyworld._Pose(thing, 192)
    for args in [(0.1, -0.2, 0.3, 0.15, 25.0), (0.0, 0.03, 0.45, 0.2, 0.0), (-0.1, 0.1, 0.07, 0.12, -30.0)]:
        two_step = pose(toyworld._ellipse(*args).tolist())
        assert np.allclose(pose.ellipse(*args), two_step, atol=1e-9)
    assert np.allclose(pose([(0.0, 0.0)]), [0.4 * 192, 0.6 * 192])


def test_downsample_reads_ids_at_pixel_centres():
    from PIL import Image

    scene, _ = generate("toy-fruit", "train", 4)
    side = scene.size * toyworld.SUPERSAMPLE
    cv = toyworld._Canvas(side, (10, 20, 30), 1)
    cv.disc((side * 0.3, side * 0.6), side * 0.21, (200, 40, 40), 40)
    cv.polygon(toyworld._Pose(scene.things[0], side).ellipse(0, 0, 0.5, 0.3, 30), (40, 200, 40), 41)
    rgb, ids, counts = cv.downsample(scene.size)
    nearest = np.asarray(cv.image.getchannel(3).resize((scene.size, scene.size), Image.NEAREST))
    assert np.array_equal(ids, nearest)
    assert rgb.shape == (scene.size, scene.size, 3) and counts[40] > 0 and sum(counts) == side * side


def test_an_object_nothing_covers_is_fully_visible():
    # the last layer is not re-counted: what shows of it is all of it
    checked = 0
    for i in range(40):
        scene, out = generate("toy-pets", "train", i)
        if not any(d.style.get("over") for d in scene.distractors):
            assert out.visible_fraction.tolist() == [1.0]
            checked += 1
    assert checked > 10


# --------------------------------------------------------------------------------------------
# toy-street and toy-crowd
# --------------------------------------------------------------------------------------------

NEW_DIGESTS = {
    "toy-street": "d172938e54066c27046983a15f46a73a8e964aa4200b6b1b94fe0efa3edcd3b3",
    "toy-crowd": "a3a7b84799b03ddb8d574e2c75c736f4effbf16dfc8d7425f6fb7a61041a4e63",
}


def _digest(name):
    digest = hashlib.sha256()
    for i in range(5):
        _, out = generate(name, "train", i)
        for key in ("image", "instances", "semantic", "labels", "boxes", "keypoints", "points"):
            value = getattr(out, key)
            if value is not None:
                digest.update(value.tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("name", sorted(NEW_DIGESTS))
def test_new_datasets_draw_the_same_bytes_as_recorded(name):
    # a change here changes every cache of the dataset: bump toyworld.GENERATOR_VERSION with it
    assert _digest(name) == NEW_DIGESTS[name]


def test_street_spec_names_keypoints_and_a_skeleton():
    spec = SPECS["toy-street"]
    assert len(spec.keypoints) >= 13 and spec.keypoints == toyworld.PERSON_KEYPOINTS
    for part in ("head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
        assert any(part in k for k in spec.keypoints)
    assert all(0 <= a < len(spec.keypoints) and 0 <= b < len(spec.keypoints) for a, b in spec.skeleton)
    assert {"keypoints", "panoptic"} <= set(spec.extras)


def _street(i, size=None):
    return generate("toy-street", "train", i, size=size)


@pytest.mark.parametrize("size", [64, 96, 128])
def test_street_keypoints_lie_on_their_person_or_are_hidden(size):
    seen = {0: 0, 1: 0, 2: 0}
    for i in range(30):
        scene, out = _street(i, size)
        kp = out.keypoints
        assert kp.shape == (len(scene.things), 13, 3) and kp.dtype == np.float32
        for k, thing in enumerate(scene.things):
            if thing.kind == "car":
                assert not kp[k].any(), "cars have no joints"
                continue
            for x, y, v in kp[k]:
                seen[int(v)] += 1
                if v == 0:
                    assert x == y == 0
                    continue
                assert 0 <= x < size and 0 <= y < size, "labelled joints lie in the picture"
                if v == 2:  # on its own mask, give or take the anti-aliased edge
                    r0, c0 = int(y), int(x)
                    window = out.instances[max(r0 - 2, 0) : r0 + 3, max(c0 - 2, 0) : c0 + 3]
                    assert (window == k + 1).any()
    assert seen[1] > 20 and seen[2] > 300, seen


def test_hidden_keypoints_are_covered_by_something_else():
    checked = 0
    for i in range(30):
        scene, out = _street(i)
        for k, thing in enumerate(scene.things):
            for x, y, v in out.keypoints[k]:
                if v == 1:
                    r, c = int(y), int(x)
                    # another object or a post covers it (a thin post may cover less than a
                    # pixel: then it shows beside it), or (side views) the person's own body
                    window = out.instances[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2]
                    assert (window != k + 1).any() or toyworld._far_joints(thing)
                    checked += 1
    assert checked > 20


def test_street_poses_views_and_overlaps_vary():
    views, actions, overlapping = set(), set(), 0
    for i in range(40):
        scene, out = _street(i)
        people = [t for t in scene.things if t.kind == "person"]
        views |= {t.style["view"] for t in people}
        actions |= {t.style["action"] for t in people}
        overlapping += bool((out.keypoints[..., 2] == 1).any())
    assert views == {"front", "back", "side"} and actions == {"stand", "walk", "raise"}
    assert overlapping >= 10


def test_panoptic_ids_agree_with_semantic_and_instances():
    spec = SPECS["toy-street"]
    for i in range(10):
        _, out = _street(i)
        pan = toyworld.panoptic_ids(out.semantic, out.instances)
        assert np.array_equal(pan // toyworld.PANOPTIC_DIVISOR, out.semantic)
        assert np.array_equal(pan % toyworld.PANOPTIC_DIVISOR, out.instances)
        things = np.isin(out.semantic, [spec.semantic_classes.index(c) for c in spec.classes])
        assert np.array_equal(things, out.instances > 0), "stuff has instance 0, things never"
        n_segments = len(np.unique(pan[out.instances > 0]))
        assert n_segments == len(np.unique(out.instances[out.instances > 0]))


def test_crowd_counts_head_points_and_spans_20_to_300():
    counts = []
    for i in range(60):
        scene, out = generate("toy-crowd", "train", i)
        assert out.points.shape == (len(out.labels), 2) and out.points.dtype == np.float32
        assert ((out.points >= 0) & (out.points < scene.size)).all(), "every counted head is in the picture"
        assert out.instances.dtype == np.uint16 and out.instances.max() <= len(out.labels)
        counts.append(len(out.points))
    assert min(counts) >= 20 and max(counts) <= 300
    assert min(counts) < 70 and max(counts) > 230, counts


def test_crowd_people_shrink_with_distance():
    scene, out = generate("toy-crowd", "train", 3)
    crowd = scene.layout["crowd"]
    far, near = crowd["y"] < np.quantile(crowd["y"], 0.3), crowd["y"] > np.quantile(crowd["y"], 0.7)
    assert crowd["h"][far].mean() * 1.5 < crowd["h"][near].mean()
    assert np.corrcoef(crowd["y"], crowd["h"])[0, 1] > 0.9, "people further up are smaller"
    heights = out.boxes[:, 3] - out.boxes[:, 1]
    shown = out.visible_fraction > 0.9
    top = out.points[:, 1] < scene.size * 0.4
    assert heights[shown & top].mean() < heights[shown & ~top].mean()


def test_crowd_people_hide_each_other():
    hidden = [np.mean(generate("toy-crowd", "train", i)[1].visible_fraction < 0.9) for i in range(10)]
    assert np.mean(hidden) > 0.05
