"""Small helpers every model family shares (the package's base layer: imports nothing of cvlearn).

* :func:`as_float_images`: the one uint8 → float conversion;
* :func:`eval_mode`: a ``with`` block in which a model predicts;
* :func:`predict_in_batches`: run a model over many pictures, a batch at a time;
* :func:`collate_detection`: the one way detection samples become a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["as_float_images", "collate_detection", "eval_mode", "predict_in_batches"]


def as_float_images(images: Tensor) -> Tensor:
    """Pictures as floats in 0..1: uint8 pixels (0..255) are divided by 255, float ones returned unchanged.

    images: any shape, e.g. (3, H, W) or (N, 3, H, W); the shape is kept.
    """
    return images.float() / 255 if images.dtype == torch.uint8 else images


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the ``with`` block, then restore the mode it had.

    Eval mode makes BatchNorm use its running statistics and turns dropout off, so a prediction
    does not depend on the rest of its batch. The old mode comes back even when the block raises,
    so a prediction helper called between training epochs never leaves the model in eval mode.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _moved(obj: Any, device: torch.device | str) -> Any:
    """``obj`` with every tensor in it (also inside dicts, lists and tuples) on ``device``."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, Mapping):
        return {k: _moved(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_moved(v, device) for v in obj)
    return obj


def _joined(chunks: list[Any]) -> Any:
    """One result from the batches' results: tensors concatenated along dim 0, lists chained."""
    if chunks and isinstance(chunks[0], Tensor):
        return torch.cat(chunks)
    return [item for chunk in chunks for item in chunk]


@torch.no_grad()
def predict_in_batches(
    model: nn.Module,
    images: Tensor | Sequence[Tensor],
    batch_size: int,
    predict: Callable[[Any], Any] | None = None,
    *,
    prepare: Callable[[Any], Any] | None = None,
    device: str | torch.device | None = None,
) -> Any:
    """``predict(batch)`` over ``images``, ``batch_size`` at a time, with ``model`` in eval mode.

    Args:
        images: an (N, ...) tensor or a sequence of N tensors; a batch is a slice of it.
        predict: what to compute from a batch on the device (default: ``model`` itself); it
            returns a tensor (N_batch, ...) or a list with one entry per picture.
        prepare: applied to each batch before it moves to the device (e.g. :func:`as_float_images`).
        device: where the batches go (default: where the model's parameters are).

    Returns:
        The batches' results on the CPU, joined: tensors concatenated along dim 0, lists
        (e.g. detection models' one dict per picture) chained into one list.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    predict = model if predict is None else predict
    device = device or next(model.parameters()).device
    chunks = []
    with eval_mode(model):
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            batch = batch if prepare is None else prepare(batch)
            chunks.append(_moved(predict(_moved(batch, device)), "cpu"))
    return _joined(chunks)


def collate_detection(batch: Sequence[tuple[Any, dict]]) -> tuple[list, list[dict]]:
    """``(image, target)`` samples into ``(images, targets)``, both lists.

    Detection targets differ in length from picture to picture (one box per object), so they
    cannot be stacked; torchvision's detection models take lists of images for the same reason.
    """
    images, targets = zip(*batch)
    return list(images), list(targets)
