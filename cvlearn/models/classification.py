"""A small convolutional network that sorts a picture into one of a few classes (notebook 01).

``SimpleCNN`` is the network notebook 01 builds layer by layer: a normalisation step, a stack of
``conv 3×3 → BatchNorm → ReLU → max-pool 2×2`` blocks that halve the picture and double the
channels, a global average pool that turns the last feature maps into one vector per picture
(its *embedding*), and a linear layer that scores each class.

The network takes pictures as they come from ``cvlearn.data`` (uint8, 0..255) or as floats in
0..1, and normalises them itself with the training set's channel statistics, which it keeps as
buffers (so a checkpoint carries them), as torchvision's detection models do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..images import as_float_images, predict_in_batches
from .backbones import conv_pool_block

__all__ = ["Normalise", "SimpleCNN", "channel_stats", "conv_block", "embeddings", "in_batches", "predict_probabilities"]


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and standard deviation of each colour channel, in 0..1 units.

    images: (N, C, H, W) uint8 (0..255) or float (0..1). Returns two tuples of C floats.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(
            f"images must be an (N, C, H, W) tensor, got "
            f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}"
        )
    sums = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(sums)
    for chunk in images.split(128):  # a hundred pictures at a time keeps the float copies small
        x = as_float_images(chunk).float()
        sums += x.sum(dim=(0, 2, 3), dtype=torch.float64)
        squares += x.square().sum(dim=(0, 2, 3), dtype=torch.float64)
    n = images.numel() // images.shape[1]
    mean = sums / n
    std = ((squares - n * mean.square()) / max(n - 1, 1)).clamp_min(0).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


class Normalise(nn.Module):
    """``(x - mean) / std`` per channel, after turning uint8 pixels into 0..1 floats.

    mean, std: one value per channel, in 0..1 units (see :func:`channel_stats`).
    Input (N, C, H, W) uint8 or float in 0..1; output (N, C, H, W) float, about zero-mean, unit-std.
    """

    mean: torch.Tensor  # (1, C, 1, 1) buffers, registered in __init__
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        if len(mean) != len(std):
            raise ValueError(f"mean and std need one value per channel each, got {len(mean)} and {len(std)}")
        if min(std) <= 0:
            raise ValueError(f"std must be positive, got {tuple(std)}")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (as_float_images(images).float() - self.mean) / self.std

    def extra_repr(self) -> str:
        return (
            f"mean={[round(v, 3) for v in self.mean.flatten().tolist()]}, "
            f"std={[round(v, 3) for v in self.std.flatten().tolist()]}"
        )


conv_block = conv_pool_block
"""conv 3×3 (same size) → BatchNorm → ReLU → max-pool 2×2: (N, in, H, W) → (N, out, H/2, W/2)
(:func:`cvlearn.models.backbones.conv_pool_block`)."""


class SimpleCNN(nn.Module):
    """Normalise → ``len(widths)`` conv blocks → global average pool → linear.

    Args:
        num_classes: how many classes to score.
        widths: channels of each conv block; each block halves height and width.
        mean, std: per-channel statistics of the training pictures, 0..1 units.
        in_channels: colour channels of the input.

    ``model(images)``: images (N, 3, H, W) uint8 or float 0..1 → logits (N, num_classes).
    ``model.embed(images)``: the (N, widths[-1]) vectors the linear head reads.
    """

    def __init__(
        self,
        num_classes: int = 2,
        widths: Sequence[int] = (16, 32, 64, 128),
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.25, 0.25, 0.25),
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an int of at least 2, got {num_classes!r}")
        widths = tuple(widths)
        if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"widths must be a non-empty sequence of positive ints, got {widths!r}")
        if len(mean) != in_channels:
            raise ValueError(f"mean and std need {in_channels} values (one per input channel), got {len(mean)}")
        self.num_classes, self.widths = num_classes, widths
        self.normalise = Normalise(mean, std)
        channels = (in_channels, *widths)
        self.features = nn.Sequential(*[conv_pool_block(a, b) for a, b in zip(channels[:-1], channels[1:])])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(widths[-1], num_classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) pictures → (N, widths[-1]) embeddings (the pooled last feature maps)."""
        if images.ndim != 4:
            raise ValueError(
                f"images must be a batch (N, C, H, W), got shape {tuple(images.shape)}; "
                "for one picture use images[None]"
            )
        return self.pool(self.features(self.normalise(images))).flatten(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(images))


def in_batches(
    fn: Callable[[torch.Tensor], torch.Tensor], model: nn.Module, images: torch.Tensor, batch_size: int = 250
) -> torch.Tensor:
    """``fn(batch)`` over ``images`` (N, ...) in chunks, with ``model`` in eval mode; results on the CPU."""
    return predict_in_batches(model, images, batch_size, fn)


def predict_probabilities(model: nn.Module, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Class probabilities (N, C) for pictures (N, 3, H, W), computed in eval mode, batch by batch."""
    return in_batches(lambda x: model(x).softmax(1), model, images, batch_size)


def embeddings(model: SimpleCNN, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Embeddings (N, D) of pictures (N, 3, H, W): what the linear head reads, in eval mode."""
    return in_batches(model.embed, model, images, batch_size)
