"""cvlearn.metrics.panoptic: PQ by hand and against torchmetrics, and the stuff-and-things merge."""

import numpy as np
import pytest
import torch
from torchmetrics.detection import PanopticQuality

from cvlearn.metrics.panoptic import merge_panoptic, panoptic_quality

STUFF, THINGS = [1, 2, 3, 4], [5, 6]  # toy-street: sky, road, pavement, building; person, car


def _street(small, n=20):
    ds = small("toy-street", "val", n=n)
    return ds, [ds[i][1] for i in range(len(ds))]


def _corrupt(panoptic, rng):
    """A prediction with the errors a model makes: people and cars removed (painted pavement),
    merged with another of their class, shifted sideways; a building bleeding into the sky."""
    pan = panoptic.clone()
    things = [i for i in pan.unique().tolist() if i // 1000 in THINGS]
    for ident in things:
        draw, mask = rng.random(), pan == ident
        if draw < 0.25:
            pan[mask] = 3000
        elif draw < 0.45:
            pan[mask] = next((o for o in things if o // 1000 == ident // 1000 and (pan == o).any()), ident)
        elif draw < 0.7:
            pan[mask] = 2000
            pan[torch.roll(mask, int(rng.integers(1, 5)), dims=1)] = ident
    top = pan[:12]
    top[top // 1000 == 1] = 4000
    return pan


def _torchmetrics_pq(preds, trues, per_class):
    # the predictions keep the truth's void (background, class 0) pixels, and torchmetrics needs
    # to be told they are void; void only where the truth is void reads the same under COCO's
    # rules and torchmetrics' (see test_predicting_void_leaves_a_true_segment_missed)
    metric = PanopticQuality(
        things=set(THINGS),
        stuffs=set(STUFF),
        return_sq_and_rq=True,
        return_per_class=per_class,
        allow_unknown_preds_category=True,
    )
    as_pairs = [torch.stack([torch.stack([m // 1000, m % 1000], -1) for m in maps]) for maps in (preds, trues)]
    metric.update(*as_pairs)
    return metric.compute().double()


def test_a_tiny_case_by_hand():
    # 2 x 6 pixels: sky (1000) on the left, two people (5001, 5002) on the right, one void pixel
    true = np.array([[1000, 1000, 1000, 5001, 5001, 5002], [1000, 1000, 0, 5001, 5001, 5002]])
    pred = np.array([[1000, 1000, 1000, 1000, 5007, 5009], [1000, 1000, 1000, 5007, 5007, 5009]])
    scores = panoptic_quality(pred, true, THINGS, STUFF)
    # sky: the predicted void pixel is left out, IoU = 5 / 6 (the sky pixel of person 1 is an error)
    # person 1: IoU 3 / 4, a match; person 2: IoU 2 / 2. PQ person = (3/4 + 1) / 2, RQ 1
    assert scores["per_class"][1] == pytest.approx({"pq": 5 / 6, "sq": 5 / 6, "rq": 1.0, "tp": 1, "fp": 0, "fn": 0})
    assert scores["per_class"][5]["pq"] == pytest.approx(7 / 8)
    assert scores["pq"] == pytest.approx((5 / 6 + 7 / 8) / 2)
    assert scores["pq_things"] == pytest.approx(7 / 8) and scores["pq_stuff"] == pytest.approx(5 / 6)
    assert set(scores) == {"pq", "sq", "rq", "pq_things", "pq_stuff", "per_class"}


def test_unmatched_segments_are_false_positives_and_negatives():
    true = np.array([[1000, 5001, 5001, 5001], [1000, 5001, 5001, 5001]])
    pred = np.array([[1000, 5001, 5002, 5003], [1000, 5001, 5002, 5003]])  # the person cut in three
    row = panoptic_quality(pred, true, THINGS, STUFF)["per_class"][5]
    assert row == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "tp": 0, "fp": 3, "fn": 1}
    # a predicted person lying mostly on unlabelled pixels is ignored, not a false positive
    true_void = np.array([[1000, 0, 0, 0], [1000, 0, 0, 5001]])
    pred_void = np.array([[1000, 5003, 5003, 5003], [1000, 1000, 1000, 5001]])
    scores = panoptic_quality(pred_void, true_void, THINGS, STUFF)
    assert scores["per_class"][5] == {"pq": 1.0, "sq": 1.0, "rq": 1.0, "tp": 1, "fp": 0, "fn": 0}


def test_predicting_void_leaves_a_true_segment_missed():
    # COCO's rule: void in the *prediction* is no excuse; the person is a false negative
    # (torchmetrics ignores true segments that are mostly predicted void, COCO does not)
    true = np.array([[1000, 5001, 5001, 5001]])
    pred = np.array([[1000, 0, 0, 0]])
    assert panoptic_quality(pred, true, THINGS, STUFF)["per_class"][5]["fn"] == 1


def test_perfect_maps_score_one_and_stuff_instance_numbers_do_not_matter(small):
    _, targets = _street(small)
    trues = [t["panoptic"] for t in targets]
    scores = panoptic_quality(trues, trues, THINGS, STUFF)
    assert scores["pq"] == scores["sq"] == scores["rq"] == scores["pq_things"] == scores["pq_stuff"] == 1.0
    renumbered = [torch.where(t // 1000 <= 4, t + 7, t) for t in trues]  # stuff ids 1007, 2007, ...
    renumbered = [torch.where(t == 7, 0, t) for t in renumbered]  # void stays void
    assert panoptic_quality(renumbered, torch.stack(trues), THINGS, STUFF)["pq"] == 1.0


def test_panoptic_quality_equals_torchmetrics(small):
    _, targets = _street(small)
    rng = np.random.default_rng(0)
    trues = [t["panoptic"] for t in targets]
    preds = [_corrupt(t, rng) for t in trues]
    mine = panoptic_quality(preds, trues, THINGS, STUFF)
    assert 0.5 < mine["pq"] < 0.95 and mine["per_class"][5]["fn"] > 0 and mine["per_class"][5]["fp"] > 0
    overall = _torchmetrics_pq(preds, trues, per_class=False)
    per_class = _torchmetrics_pq(preds, trues, per_class=True)  # (classes, 3): things then stuff, sorted
    differences = [abs(mine[k] - float(v)) for k, v in zip(("pq", "sq", "rq"), overall)]
    for row, cls in zip(per_class, sorted(THINGS) + sorted(STUFF)):
        differences += [abs(mine["per_class"][cls][k] - float(v)) for k, v in zip(("pq", "sq", "rq"), row)]
    assert len(differences) == 3 + 3 * 6 and max(differences) <= 1e-6


def _voided(panoptic, rng):
    """A prediction that says void where a model would: some people and cars wholly or partly left
    void (the merge's unclaimed thing pixels), plus the corruptions of :func:`_corrupt`."""
    pan = _corrupt(panoptic, rng)
    for ident in [i for i in pan.unique().tolist() if i // 1000 in THINGS]:
        mask = pan == ident
        if rng.random() < 0.3:
            pan[mask] = 0
        elif rng.random() < 0.4:
            columns = torch.nonzero(mask)[:, 1]
            pan[mask & (torch.arange(mask.shape[1]) < columns.float().quantile(rng.random()))] = 0
    return pan


def test_with_predicted_void_ignored_it_equals_torchmetrics_and_coco_counts_it_missed(small):
    _, targets = _street(small)
    rng = np.random.default_rng(1)
    trues = [t["panoptic"] for t in targets]
    preds = [_voided(t, rng) for t in trues]
    theirs = [float(v) for v in _torchmetrics_pq(preds, trues, per_class=False)]
    ignored = panoptic_quality(preds, trues, THINGS, STUFF, predicted_void="ignored")
    coco = panoptic_quality(preds, trues, THINGS, STUFF)
    assert max(abs(ignored[k] - v) for k, v in zip(("pq", "sq", "rq"), theirs)) <= 1e-6
    assert coco["per_class"][5]["fn"] > ignored["per_class"][5]["fn"] and coco["pq"] < ignored["pq"] - 0.01
    with pytest.raises(ValueError, match="predicted_void must be 'missed'"):
        panoptic_quality(preds, trues, THINGS, STUFF, predicted_void="skip")


def _one_hot(semantic, classes=7):
    return torch.nn.functional.one_hot(semantic, classes).permute(2, 0, 1).float()


def _instances(target, scores=None):
    n = len(target["labels"])
    scores = torch.linspace(1.0, 0.9, n) if scores is None else scores
    return {"masks": target["masks"].float().unsqueeze(1), "scores": scores, "labels": target["labels"]}


def test_merging_the_truth_gives_the_truth(small):
    ds, targets = _street(small)
    things = [ds.semantic_classes.index(c) for c in ds.classes]
    assert things == THINGS
    merged = [merge_panoptic(_one_hot(t["semantic"]), _instances(t), STUFF, things, min_stuff_area=0) for t in targets]
    assert all(m.dtype == torch.int64 and m.shape == (ds.size, ds.size) for m in merged)
    assert panoptic_quality(merged, [t["panoptic"] for t in targets], THINGS, STUFF)["pq"] == 1.0
    # semantic as class indices, not logits, merges the same
    again = merge_panoptic(targets[0]["semantic"], _instances(targets[0]), STUFF, things, min_stuff_area=0)
    assert torch.equal(again, merged[0])


def test_merge_drops_duplicates_low_scores_and_stuff_specks():
    semantic = torch.full((8, 8), 2)  # road everywhere...
    semantic[0, 0] = 1  # ...but one sky pixel, a speck
    semantic[6:, 6:] = 5  # and a person the detector missed
    person = torch.zeros(8, 8, dtype=torch.bool)
    person[1:5, 1:5] = True
    duplicate = torch.roll(person, 1, dims=1)  # 12 of its 16 pixels are already taken
    instances = {
        "masks": torch.stack([duplicate, person, person.flip(1)]),
        "scores": torch.tensor([0.8, 0.9, 0.3]),  # the mirrored person is under score_thresh
        "labels": torch.tensor([1, 1, 2]),
    }
    pan = merge_panoptic(semantic, instances, STUFF, THINGS, min_stuff_area=2)
    assert set(pan.unique().tolist()) == {0, 2000, 5001}
    assert torch.equal(pan == 5001, person)  # the best-scored person first, numbered 1
    assert pan[0, 0] == 0 and (pan[6:, 6:] == 0).all()  # the speck and the unclaimed person pixels: void
    assert merge_panoptic(semantic, instances, STUFF, THINGS, min_stuff_area=1)[0, 0] == 1000
    assert (merge_panoptic(semantic, instances, STUFF, THINGS, overlap_thresh=0.9) == 5002).sum() == 4


def test_bad_input_names_the_argument():
    true = np.zeros((4, 4), dtype=np.int64) + 1000
    with pytest.raises(ValueError, match="pred holds classes \\[9\\]"):
        panoptic_quality(true * 9, true, THINGS, STUFF)
    with pytest.raises(ValueError, match="same shapes"):
        panoptic_quality(true[:2], true, THINGS, STUFF)
    with pytest.raises(ValueError, match="integer panoptic ids"):
        panoptic_quality(true.astype(float), true, THINGS, STUFF)
    with pytest.raises(ValueError, match="must not share"):
        panoptic_quality(true, true, [1, 5], STUFF)
    with pytest.raises(ValueError, match="no pictures"):
        panoptic_quality([], [], THINGS, STUFF)
    semantic = torch.zeros(4, 4, dtype=torch.long)
    mask = torch.ones(1, 4, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="labels must lie in 1..2"):
        merge_panoptic(semantic, {"masks": mask, "scores": torch.ones(1), "labels": torch.tensor([3])}, STUFF, THINGS)
    with pytest.raises(ValueError, match="missing \\['scores'\\]"):
        merge_panoptic(semantic, {"masks": mask, "labels": torch.tensor([1])}, STUFF, THINGS)
    with pytest.raises(ValueError, match="semantic must be"):
        merge_panoptic(torch.zeros(4), {"masks": mask, "scores": torch.ones(1), "labels": torch.ones(1)}, STUFF, THINGS)
