"""Crowd counting by density maps: a small CSRNet-like network (notebook 06).

When people are a few pixels each and hide one another, a detector has nothing to put a box
around: it misses the far, small and overlapping ones and counts too few. A density map avoids
boxes altogether. Its target is a sum of small Gaussians, one at each head, each holding exactly
one person, so the map's sum is the count; a fully convolutional network learns to paint it, and
a person it cannot tell from their neighbour still adds their share of the sum.

:class:`DensityNet` follows CSRNet (Li et al., 2018) in miniature: a VGG-ish front end of 3×3
convolutions with 2×2 max pooling (down to the output stride), then a back end of *dilated* 3×3
convolutions, which see a wider context (is this blob one person or three?) without pooling away
the resolution, and a 1×1 convolution to one channel.

* ``DensityNet(images: (N, 3, H, W) uint8 or float 0..1) -> density: (N, 1, H/s, W/s) float``;
* :func:`predict_density`: the maps of a whole split, in batches, in eval mode;
* :func:`predict_counts`: each picture's count, the sum of its map.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..images import as_float_images, predict_in_batches
from .backbones import IMAGE_MEAN, IMAGE_STD, conv_bn_relu

__all__ = ["DensityNet", "predict_counts", "predict_density"]


def _check_ints(name: str, values: tuple[int, ...], low: int) -> None:
    if not isinstance(values, (tuple, list)) or not values:
        raise ValueError(f"{name} must be a non-empty tuple of ints, got {values!r}")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must hold ints of at least {low}, got {values!r}")


def _poolings(stride: int, stages: int) -> int:
    """How many 2× poolings make ``stride``; a ValueError unless it is a power of two the stages can reach."""
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1 or stride & (stride - 1):
        raise ValueError(f"stride must be 1, 2, 4, 8, ... (a power of two), got {stride!r}")
    poolings = int(math.log2(stride))
    if poolings >= stages:
        raise ValueError(
            f"stride={stride} needs {poolings} poolings, one after each front-end stage but the last: "
            f"widths must list at least {poolings + 1} stages, got {stages}"
        )
    return poolings


class DensityNet(nn.Module):
    """A CSRNet-like density regressor for small pictures, trained from scratch.

    Args:
        widths: channels of the front end's stages; stage ``k`` is ``convs`` 3×3 convolutions
            (each with BatchNorm and ReLU), followed by 2×2 max pooling while the stride is not
            reached yet (so ``stride=4`` pools after the first two stages).
        dilations: one dilated 3×3 convolution of ``widths[-1]`` channels per entry (the back end).
        stride: the output's stride, 1, 2, 4, ...: the map has one cell per ``stride × stride``
            pixels, and a cell holds the number of people whose heads fall in it.
        convs: convolutions per front-end stage (VGG has 2 or 3).

    ``forward(images: (N, 3, H, W) uint8 or float 0..1) -> density: (N, 1, H/stride, W/stride)``
    float, for H and W multiples of ``stride``. The output is linear (no ReLU): a ReLU at the end
    would stop every gradient through a cell predicted below zero, and such cells are common
    early in training; the sums come out non-negative once trained.
    """

    mean: torch.Tensor  # (1, 3, 1, 1) buffers, registered in __init__
    std: torch.Tensor

    def __init__(
        self,
        widths: tuple[int, ...] = (16, 32, 64),
        dilations: tuple[int, ...] = (2, 2, 2),
        stride: int = 4,
        convs: int = 2,
    ) -> None:
        super().__init__()
        _check_ints("widths", widths, 1)
        _check_ints("dilations", dilations, 1)
        _check_ints("convs", (convs,), 1)
        self.stride = stride
        poolings = _poolings(stride, len(widths))
        layers: list[nn.Module] = []
        for k, (c_in, c_out) in enumerate(zip([3, *widths], widths)):
            layers += [conv_bn_relu(c_in if i == 0 else c_out, c_out) for i in range(convs)]
            if k < poolings:
                layers.append(nn.MaxPool2d(2))
        self.front = nn.Sequential(*layers)
        c = widths[-1]
        self.back = nn.Sequential(*[conv_bn_relu(c, c, dilation=d) for d in dilations])
        self.head = nn.Conv2d(c, 1, kernel_size=1)
        self.register_buffer("mean", torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGE_STD).view(1, 3, 1, 1), persistent=False)

    def _checked(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` as float in 0..1, or a clear error for an input the network cannot take."""
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(images.shape)}")
        if images.shape[-2] % self.stride or images.shape[-1] % self.stride:
            # the target map has H/stride × W/stride cells: a remainder would have no cell
            raise ValueError(
                f"images' H and W must be multiples of stride={self.stride}, got {tuple(images.shape[-2:])}"
            )
        return as_float_images(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (self._checked(images) - self.mean) / self.std
        return self.head(self.back(self.front(x)))


def predict_density(model: nn.Module, images: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """Density maps ``(N, 1, H/s, W/s)`` float for ``images: (N, 3, H, W)`` (uint8, or float 0..1),
    in batches, in eval mode (BatchNorm on its running statistics), on the CPU."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be an (N, 3, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    return predict_in_batches(model, images, batch_size, prepare=as_float_images)


def predict_counts(model: nn.Module, images: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """``(N,)`` float: each picture's count, the sum of its density map (see :func:`predict_density`)."""
    return predict_density(model, images, batch_size).sum(dim=(1, 2, 3))
