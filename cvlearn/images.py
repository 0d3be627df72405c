"""Small helpers every model family shares (the package's base layer: imports nothing of cvlearn)."""

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


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
