"""Checkers for notebook 07's exercises: freezing all but the head, per-layer learning rates, and
a prediction of what frozen and fine-tuned will do with few labels.

1. ``check_freeze_all_but_head(fn)``: ``fn(model)`` freezes a :class:`BackboneClassifier` except
   its ``head``, BatchNorm statistics included;
2. ``check_parameter_groups(fn)``: ``fn(model, lr)`` returns an optimizer whose pretrained body
   learns at a tenth of ``lr`` and everything else at ``lr``;
3. ``check_transfer_predictions(fn, runs)``: the learner's predictions for :data:`TRANSFER_QUESTIONS`,
   compared with the study's measured runs (:func:`cvlearn.recipes.transfer.study`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..models import BackboneClassifier, maskrcnn
from ..recipes.transfer import body_parameters
from .feedback import Feedback, checker, describe, run_answer, verdict

__all__ = [
    "TRANSFER_QUESTIONS",
    "check_freeze_all_but_head",
    "check_parameter_groups",
    "check_transfer_predictions",
]


# --------------------------------------------------------------------------------------------
# 1 · freeze all but the head
# --------------------------------------------------------------------------------------------


def _batchnorm_statistics(model: nn.Module) -> list[torch.Tensor]:
    return [b.clone() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var"))]


@checker("freezing")
def check_freeze_all_but_head(fn: Callable[[nn.Module], Any], quiet: bool = False) -> Feedback:
    """``fn(model)`` (in place, or returning the model) leaves only ``model.head`` to learn: every
    other parameter without gradients, and the BatchNorm statistics unchanged by a training-mode
    forward pass (``fit`` puts the model in training mode every epoch)."""
    torch.manual_seed(0)
    given = BackboneClassifier(4, widths=(8, 8, 16, 16))
    answer, problem = run_answer(fn, given, allow_none=True)
    if problem:
        return verdict(False, problem, quiet)
    if answer is not None and not isinstance(answer, nn.Module):
        return verdict(False, f"return the model (or nothing, changing it in place), got {describe(answer)}", quiet)
    model: nn.Module = answer if answer is not None else given
    head_layer = getattr(model, "head", None)
    if not isinstance(head_layer, nn.Module):
        return verdict(
            False, f"the model returned has no head: return the model you were given, got {describe(model)}", quiet
        )
    head = {id(p) for p in head_layer.parameters()}
    if not all(p.requires_grad for p in head_layer.parameters()):
        return verdict(
            False, "the head is frozen too, so nothing would learn: leave model.head's parameters alone", quiet
        )
    learning = [name for name, p in model.named_parameters() if p.requires_grad and id(p) not in head]
    if learning:
        return verdict(
            False,
            f"{len(learning)} parameters outside the head still learn (e.g. {learning[0]}): "
            "set requires_grad_(False) on every parameter but the head's",
            quiet,
        )
    before = _batchnorm_statistics(model)
    model.train()
    with torch.no_grad():
        model(torch.rand(4, 3, 32, 32))
    if any(not torch.equal(a, b) for a, b in zip(before, _batchnorm_statistics(model))):
        return verdict(
            False,
            "the weights are frozen, but BatchNorm still moves its running mean and variance on every "
            "training-mode batch: replace each BatchNorm2d with torchvision.ops.misc.FrozenBatchNorm2d "
            "(cvlearn.recipes.transfer.freeze_batchnorm does it), since model.eval() is undone by fit's "
            "model.train()",
            quiet,
        )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return verdict(
        True,
        f"only the head learns ({trainable} of {sum(p.numel() for p in model.parameters())} "
        "parameters), and BatchNorm's statistics stay as pretrained",
        quiet,
    )


# --------------------------------------------------------------------------------------------
# 2 · a lower learning rate for the pretrained body
# --------------------------------------------------------------------------------------------


@checker("parameter groups")
def check_parameter_groups(fn: Callable[[nn.Module, float], Any], quiet: bool = False) -> Feedback:
    """``fn(model, lr) -> optimizer`` for notebook 05's Mask R-CNN: the body (``model.backbone.stem``
    and ``model.backbone.stages``) at ``lr / 10``, every other parameter (the new feature
    pyramid and heads) at ``lr``, each parameter in exactly one group."""
    lr = 0.003
    model = maskrcnn(2)
    answer, problem = run_answer(fn, model, lr, expected="an optimizer")
    if problem:
        hint = " (a parameter may be in one group only)" if "more than one parameter group" in problem else ""
        return verdict(False, problem + hint, quiet)
    if not isinstance(answer, torch.optim.Optimizer):
        return verdict(False, f"return a torch.optim optimizer (AdamW, say), got {describe(answer)}", quiet)
    rates = {id(p): group["lr"] for group in answer.param_groups for p in group["params"]}
    missing = [name for name, p in model.named_parameters() if id(p) not in rates]
    if missing:
        return verdict(
            False, f"{len(missing)} parameters are in no group (e.g. {missing[0]}), so they never learn", quiet
        )
    body = {id(p) for p in body_parameters(model)}
    body_rates = {rates[i] for i in body}
    other_rates = {rate for i, rate in rates.items() if i not in body}
    if other_rates == {lr / 10}:
        return verdict(
            False,
            "the new parts (feature pyramid, RPN, heads) learn at lr / 10: they start from random "
            "weights and need the full rate; only the pretrained body's is lowered",
            quiet,
        )
    if body_rates != {lr / 10} or other_rates != {lr}:
        fpn = {rates[id(p)] for p in model.backbone.fpn.parameters()}
        hint = (
            "the feature pyramid is part of model.backbone but not pretrained: only stem and stages are the body"
            if fpn == {lr / 10}
            else f"the body should learn at lr / 10 = {lr / 10:g} and the rest at lr = {lr:g}"
        )
        return verdict(
            False, f"got body rates {sorted(body_rates)} and other rates {sorted(other_rates)}; {hint}", quiet
        )
    return verdict(
        True,
        f"{len(body)} body tensors at {lr / 10:g}, {len(rates) - len(body)} others at {lr:g}: the "
        "pretrained filters move gently while the new heads learn at full speed",
        quiet,
    )


# --------------------------------------------------------------------------------------------
# 3 · predict, then run: frozen vs fine-tuned with few labels
# --------------------------------------------------------------------------------------------

TRANSFER_QUESTIONS = (
    ("best_at_smallest", "which start scores best with the fewest pictures: 'scratch', 'frozen' or 'finetune'?"),
    ("frozen_beats_scratch_at_largest", "with the most pictures, does the frozen body beat training from scratch?"),
)
"""What the learner predicts before the study runs, by key."""


def _measured(runs: Sequence[Any]) -> dict[str, Any]:
    """The answers to :data:`TRANSFER_QUESTIONS` in the study's runs (each with ``method``,
    ``pictures`` and ``mask_ap50``)."""
    fewest, most = min(r.pictures for r in runs), max(r.pictures for r in runs)
    at = {(r.method, r.pictures): r.mask_ap50 for r in runs}
    best = max((r for r in runs if r.pictures == fewest), key=lambda r: r.mask_ap50).method
    return {
        "best_at_smallest": best,
        "frozen_beats_scratch_at_largest": at[("frozen", most)] > at[("scratch", most)],
        "fewest": fewest,
        "most": most,
    }


@checker("transfer predictions")
def check_transfer_predictions(fn: Callable[[], dict], runs: Sequence[Any], quiet: bool = False) -> Feedback:
    """``fn() -> {"best_at_smallest": "scratch" | "frozen" | "finetune",
    "frozen_beats_scratch_at_largest": bool}``, written before the study ran, compared with
    ``runs`` (the study's :class:`cvlearn.recipes.transfer.Run` list)."""
    answer, problem = run_answer(fn, expected="a dict of your predictions")
    if problem:
        return verdict(False, problem, quiet)
    if not isinstance(answer, dict) or set(answer) != {key for key, _ in TRANSFER_QUESTIONS}:
        keys = [key for key, _ in TRANSFER_QUESTIONS]
        return verdict(False, f"return a dict with the keys {keys}, got {describe(answer)}", quiet)
    if answer["best_at_smallest"] not in ("scratch", "frozen", "finetune"):
        return verdict(
            False,
            f"best_at_smallest must be 'scratch', 'frozen' or 'finetune', got {describe(answer['best_at_smallest'])}",
            quiet,
        )
    if not isinstance(answer["frozen_beats_scratch_at_largest"], bool):
        return verdict(False, "frozen_beats_scratch_at_largest must be True or False", quiet)
    measured = _measured(runs)
    wrong = [key for key, _ in TRANSFER_QUESTIONS if answer[key] != measured[key]]
    facts = (
        f"with {measured['fewest']} pictures {measured['best_at_smallest']} scored best; with "
        f"{measured['most']}, frozen {'beat' if measured['frozen_beats_scratch_at_largest'] else 'lost to'} "
        "scratch"
    )
    if wrong:
        return verdict(
            False,
            f"not quite: {facts}. A frozen body can only recombine filters learnt for another "
            "task; the more labels there are, the more learning every filter pays",
            quiet,
        )
    return verdict(True, f"both predictions came true: {facts}", quiet)
