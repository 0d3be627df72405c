"""cvlearn.exercises.transfer: each checker passes the worked solution and names the typical slips."""

import pytest
import torch

from cvlearn.exercises.transfer import (
    TRANSFER_QUESTIONS,
    check_freeze_all_but_head,
    check_parameter_groups,
    check_transfer_predictions,
)
from cvlearn.recipes.transfer import Run, freeze_batchnorm

# --------------------------------------------------------------------------------------------
# worked solutions, as a learner would write them
# --------------------------------------------------------------------------------------------


def freeze_solution(model):
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("head."))
    freeze_batchnorm(model)


def groups_solution(model, lr):
    body = [p for part in (model.backbone.stem, model.backbone.stages) for p in part.parameters()]
    ids = {id(p) for p in body}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return torch.optim.AdamW([{"params": body, "lr": lr / 10}, {"params": rest, "lr": lr}])


def _runs(scratch_25=0.1, frozen_25=0.2, finetune_25=0.3, scratch_500=0.8, frozen_500=0.5):
    rows = {("scratch", 25): scratch_25, ("frozen", 25): frozen_25, ("finetune", 25): finetune_25}
    rows |= {("scratch", 500): scratch_500, ("frozen", 500): frozen_500, ("finetune", 500): 0.7}
    return [Run(m, n, ap, ap / 3, 1.0) for (m, n), ap in rows.items()]


def test_the_worked_solutions_pass():
    assert check_freeze_all_but_head(freeze_solution)
    assert check_parameter_groups(groups_solution)
    right = {"best_at_smallest": "finetune", "frozen_beats_scratch_at_largest": False}
    assert check_transfer_predictions(lambda: right, _runs())
    assert [key for key, _ in TRANSFER_QUESTIONS] == list(right)


# --------------------------------------------------------------------------------------------
# the usual slips
# --------------------------------------------------------------------------------------------


def test_freezing_only_the_weights_leaves_batchnorm_moving(capsys):
    def weights_only(model):
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith("head."))

    assert not check_freeze_all_but_head(weights_only)
    assert "BatchNorm still moves its running mean" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda m: [p.requires_grad_(False) for p in m.parameters()] and None, "the head is frozen too"),
        (lambda m: m.stem.requires_grad_(False) and None, "parameters outside the head still learn"),
        (lambda m: "done", "return the model"),
    ],
)
def test_freezing_slips_get_hints(answer, words, capsys):
    assert not check_freeze_all_but_head(answer)
    assert words in capsys.readouterr().out


def test_parameter_group_slips_get_hints(capsys):
    def whole_backbone(model, lr):
        ids = {id(p) for p in model.backbone.parameters()}
        rest = [p for p in model.parameters() if id(p) not in ids]
        return torch.optim.AdamW(
            [{"params": list(model.backbone.parameters()), "lr": lr / 10}, {"params": rest}], lr=lr
        )

    def everything_slow(model, lr):
        return torch.optim.AdamW(model.parameters(), lr=lr / 10)

    def body_only(model, lr):
        return torch.optim.AdamW(model.backbone.stem.parameters(), lr=lr / 10)

    def twice(model, lr):
        return torch.optim.AdamW([{"params": model.backbone.stem.parameters()}, {"params": model.parameters()}], lr=lr)

    for answer, words in (
        (whole_backbone, "the feature pyramid is part of model.backbone but not pretrained"),
        (everything_slow, "the new parts (feature pyramid, RPN, heads) learn at lr / 10"),
        (body_only, "are in no group"),
        (twice, "one group only"),
        (lambda model, lr: None, "forget to `return`"),
    ):
        assert not check_parameter_groups(answer)
        assert words in capsys.readouterr().out, answer


def test_wrong_predictions_are_told_what_happened(capsys):
    wrong = {"best_at_smallest": "scratch", "frozen_beats_scratch_at_largest": True}
    assert not check_transfer_predictions(lambda: wrong, _runs())
    out = capsys.readouterr().out
    assert "with 25 pictures finetune scored best" in out and "frozen lost to scratch" in out
    assert check_transfer_predictions(lambda: wrong, _runs(scratch_25=0.9, frozen_500=0.9))


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"best_at_smallest": "scratch"}, "return a dict with the keys"),
        ({"best_at_smallest": "pretrained", "frozen_beats_scratch_at_largest": True}, "must be 'scratch'"),
        ({"best_at_smallest": "frozen", "frozen_beats_scratch_at_largest": "yes"}, "must be True or False"),
        ("finetune", "return a dict"),
    ],
)
def test_prediction_slips_get_hints(answer, words, capsys):
    assert not check_transfer_predictions(lambda: answer, _runs())
    assert words in capsys.readouterr().out


def test_an_unanswered_exercise_raises_not_implemented_error(capsys):
    def stub(*args):
        raise NotImplementedError

    for check, context in (
        (check_freeze_all_but_head, ()),
        (check_parameter_groups, ()),
        (check_transfer_predictions, (_runs(),)),
    ):
        with pytest.raises(NotImplementedError):
            check(stub, *context)
        assert "not answered yet" in capsys.readouterr().out
