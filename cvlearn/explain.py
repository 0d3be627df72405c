"""A look inside a trained network: feature maps, saliency and Grad-CAM.

* :func:`feature_maps`: what one layer outputs, channel by channel (which patterns it responds to);
* :func:`saliency`: how much each input pixel moves the class score (the gradient of the score
  with respect to the pixels, Simonyan et al. 2014);
* :func:`grad_cam`: which regions of a convolutional layer decided the class (its feature maps
  weighted by how much the class score depends on each of them, Selvaraju et al. 2017).

All take pictures as ``(N, 3, H, W)`` uint8 or float 0..1 and put the model in eval mode.
Maps are returned on the CPU, scaled to 0..1 per picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from .images import as_float_images, eval_mode

__all__ = ["feature_maps", "grad_cam", "saliency"]


@contextmanager
def _capture(layer: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collect ``layer``'s outputs while the block runs (a forward hook, removed afterwards)."""
    if not isinstance(layer, nn.Module):
        raise TypeError(
            f"layer must be an nn.Module inside the model (e.g. model.features[0]), got {type(layer).__name__}"
        )
    outputs: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda module, inputs, output: outputs.append(output))
    try:
        yield outputs
    finally:
        handle.remove()


def _check_images(images: torch.Tensor) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(
            f"images must be a batch (N, 3, H, W), got "
            f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}"
        )
    return images


def _scale_to_unit(maps: torch.Tensor, top: float = 1.0) -> torch.Tensor:
    """(N, H, W) → the same, each map stretched to 0..1 (an all-zero map stays zero).

    ``top`` < 1 maps that quantile (not the maximum) to 1 and clips above it, so that a few
    extreme pixels do not leave the rest of the map invisible.
    """
    flat = maps.flatten(1)
    low = flat.min(1).values.view(-1, 1, 1)
    high = (flat.max(1).values if top >= 1 else flat.quantile(top, dim=1)).view(-1, 1, 1)
    return ((maps - low) / (high - low).clamp_min(1e-12)).clamp(0, 1)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def feature_maps(model: nn.Module, images: torch.Tensor, layer: nn.Module) -> torch.Tensor:
    """``layer``'s output for ``images``: (N, C, h, w) on the CPU, unscaled."""
    with eval_mode(model), _capture(layer) as outputs:
        model(_check_images(images).to(_device(model)))
    return outputs[0].cpu()


def _class_scores(logits: torch.Tensor, classes: torch.Tensor | int | None) -> torch.Tensor:
    """(N,) the logit of ``classes`` per picture (default: the predicted class)."""
    if classes is None:
        classes = logits.argmax(1)
    classes = torch.as_tensor(classes, device=logits.device).long().expand(len(logits))
    return logits.gather(1, classes.view(-1, 1)).squeeze(1)


def saliency(
    model: nn.Module, images: torch.Tensor, classes: torch.Tensor | int | None = None, top: float = 0.99
) -> torch.Tensor:
    """(N, H, W) in 0..1: how strongly each pixel sways the score of ``classes`` (default: predicted).

    The largest absolute gradient over the colour channels, per pixel, scaled so that the
    ``top`` quantile of each map is 1 (gradients are spiky: a few pixels would otherwise
    outshine all others).
    """
    x = as_float_images(_check_images(images)).float().to(_device(model)).requires_grad_(True)
    with eval_mode(model):
        scores = _class_scores(model(x), classes)
    (grad,) = torch.autograd.grad(scores.sum(), x)
    return _scale_to_unit(grad.abs().amax(1), top).cpu()


def grad_cam(
    model: nn.Module, images: torch.Tensor, layer: nn.Module, classes: torch.Tensor | int | None = None
) -> torch.Tensor:
    """(N, H, W) in 0..1: the Grad-CAM map of ``layer`` for ``classes`` (default: predicted).

    Each channel of ``layer``'s output is weighted by the mean gradient of the class score with
    respect to it; the weighted sum, with negative parts set to zero, is upsampled to the picture.
    """
    images = _check_images(images)
    with torch.enable_grad(), eval_mode(model), _capture(layer) as outputs:
        scores = _class_scores(model(as_float_images(images).float().to(_device(model))), classes)
        (grads,) = torch.autograd.grad(scores.sum(), outputs[0])
    activations = outputs[0].detach()
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activations).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=images.shape[-2:], mode="bilinear", align_corners=False)
    return _scale_to_unit(cam.squeeze(1)).cpu()
