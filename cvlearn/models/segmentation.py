"""Dense predictors for semantic segmentation: a class score for every pixel.

Three models share one encoder (convolution blocks, each followed by 2×2 max pooling) and differ
only in how they get back to full resolution:

* :class:`FCN` with ``upsample="bilinear"``: a fully convolutional network. A 1×1 convolution
  scores every cell of the coarse (1/8 size) feature map, and the scores are stretched back to
  the input size by bilinear interpolation (FCN-32s in spirit).
* :class:`FCN` with ``upsample="transposed"``: the same, but the way back up is *learned*, one
  2× transposed convolution per pooling step.
* :class:`UNet`: learned upsampling plus skip connections; each upsampled map is concatenated with
  the encoder's map of the same size, which brings back the fine detail that pooling threw away.

All take ``images: (N, 3, H, W)``, uint8 (0..255) or float in 0..1, and return ``logits: (N, num_classes, H, W)``, for
any ``H, W`` of at least ``2 ** depth`` pixels, odd sizes included: every upsampling step is told
the exact size to produce (``output_size``), so no padding or cropping is needed.

Also here: :func:`predict_classes` (class maps for a whole split), :func:`median_frequency_weights`
(class weights for the loss) and :func:`colour_clusters` (k-means on pixel colours, a baseline
that uses no labels).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.cluster.vq import kmeans2
from torch import nn

from ..images import as_float_images, predict_in_batches
from .backbones import double_conv_block

__all__ = [
    "FCN",
    "Encoder",
    "UNet",
    "Up",
    "as_float_images",
    "colour_clusters",
    "conv_block",
    "median_frequency_weights",
    "predict_classes",
]


conv_block = double_conv_block
"""Two 3×3 convolutions, each followed by BatchNorm and ReLU; padding 1 keeps H and W
(:func:`cvlearn.models.backbones.double_conv_block`)."""


def _check_sizes(num_classes: int, width: int, depth: int) -> None:
    for name, value, low in (("num_classes", num_classes, 2), ("width", width, 1), ("depth", depth, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int of at least {low}, got {value!r}")


def _checked_images(images: torch.Tensor, depth: int) -> torch.Tensor:
    """``images`` as float in 0..1, with clear errors for inputs the models cannot take (instead
    of a traceback from inside torch)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(images.shape)}")
    smallest = 2**depth
    if min(images.shape[-2:]) < smallest:
        raise ValueError(
            f"images must be at least {smallest}×{smallest} pixels for depth={depth} "
            f"(one halving per level), got {tuple(images.shape[-2:])}"
        )
    return as_float_images(images)


class Encoder(nn.Module):
    """``depth + 1`` convolution blocks with 2×2 max pooling between them.

    Block ``k`` has ``width * 2**k`` channels. ``forward`` returns every block's output, from full
    size down to ``1 / 2**depth`` (sizes round down at each pooling: 65 → 32 → 16 → 8).
    """

    def __init__(self, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        channels = [width * 2**k for k in range(depth + 1)]
        self.channels = channels
        self.blocks = nn.ModuleList(double_conv_block(c_in, c_out) for c_in, c_out in zip([3, *channels], channels))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        features = [self.blocks[0](images)]
        for block in self.blocks[1:]:
            features.append(block(F.max_pool2d(features[-1], 2)))
        return features


class Up(nn.Module):
    """A learned 2× upsampling: a 2×2 transposed convolution with stride 2, then BatchNorm and ReLU.

    ``forward(x, size)`` returns exactly ``size``: an odd target size (65 from 32) is reached by
    the transposed convolution's ``output_size`` argument, which adds the missing row/column.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return F.relu(self.norm(self.up(x, output_size=size)), inplace=True)


class FCN(nn.Module):
    """A fully convolutional network: the encoder, a 1×1 classifier, and a way back to full size.

    Args:
        num_classes: number of pixel classes C.
        width: channels of the first block (doubled at each level).
        depth: number of 2× poolings; the coarse map is ``1 / 2**depth`` of the input.
        upsample: ``"bilinear"`` (score the coarse map, then interpolate the scores) or
            ``"transposed"`` (learned 2× transposed convolutions back to full size, then score).

    ``forward(images: (N, 3, H, W) uint8 or float 0..1) -> logits: (N, C, H, W)``.
    """

    def __init__(self, num_classes: int, width: int = 16, depth: int = 3, upsample: str = "bilinear") -> None:
        super().__init__()
        _check_sizes(num_classes, width, depth)
        if upsample not in ("bilinear", "transposed"):
            raise ValueError(f"upsample must be 'bilinear' or 'transposed', got {upsample!r}")
        self.depth, self.upsample = depth, upsample
        self.encoder = Encoder(width, depth)
        channels = self.encoder.channels
        if upsample == "transposed":
            self.ups = nn.ModuleList(Up(c_in, c_out) for c_in, c_out in zip(channels[:0:-1], channels[-2::-1]))
            self.classifier = nn.Conv2d(channels[0], num_classes, kernel_size=1)
        else:
            self.ups = nn.ModuleList()
            self.classifier = nn.Conv2d(channels[-1], num_classes, kernel_size=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = _checked_images(images, self.depth)
        features = self.encoder(images)
        x = features[-1]
        if self.upsample == "bilinear":
            return F.interpolate(self.classifier(x), size=images.shape[-2:], mode="bilinear", align_corners=False)
        # the encoder's maps are used only for their sizes: no skip connections in an FCN
        for up, skip in zip(self.ups, reversed(features[:-1])):
            x = up(x, skip.shape[-2:])
        return self.classifier(x)


class UNet(nn.Module):
    """A small U-Net: the encoder, then learned 2× upsampling with skip connections.

    At each level the upsampled map is concatenated with the encoder's map of the same size and
    mixed by a convolution block, so edges found at full resolution reach the classifier.

    Args:
        num_classes: number of pixel classes C.
        width: channels of the first block (doubled at each level); 16 gives about 0.5 M
            parameters at ``depth=3``.
        depth: number of 2× poolings.

    ``forward(images: (N, 3, H, W) uint8 or float 0..1) -> logits: (N, C, H, W)``.
    """

    def __init__(self, num_classes: int, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        _check_sizes(num_classes, width, depth)
        self.depth = depth
        self.encoder = Encoder(width, depth)
        channels = self.encoder.channels
        pairs = list(zip(channels[:0:-1], channels[-2::-1]))  # (deep, shallow): (128, 64), (64, 32), ...
        self.ups = nn.ModuleList(Up(deep, shallow) for deep, shallow in pairs)
        self.decoder = nn.ModuleList(double_conv_block(2 * shallow, shallow) for _, shallow in pairs)
        self.classifier = nn.Conv2d(channels[0], num_classes, kernel_size=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = _checked_images(images, self.depth)
        features = self.encoder(images)
        x = features[-1]
        for up, block, skip in zip(self.ups, self.decoder, reversed(features[:-1])):
            x = block(torch.cat([skip, up(x, skip.shape[-2:])], dim=1))
        return self.classifier(x)


def predict_classes(
    model: nn.Module, images: torch.Tensor, batch_size: int = 16, device: str | torch.device | None = None
) -> torch.Tensor:
    """Class maps ``(N, H, W) int64`` for ``images: (N, 3, H, W)`` (uint8, or float 0..1), in batches.

    The model is in eval mode meanwhile (BatchNorm uses its running statistics), then back in
    the mode it had.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be an (N, 3, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    return predict_in_batches(
        model, images, batch_size, lambda batch: model(batch).argmax(dim=1), prepare=as_float_images, device=device
    )


def median_frequency_weights(masks: torch.Tensor, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Class weights for the loss: ``median(frequency) / frequency[c]`` (median frequency balancing).

    masks: (N, H, W) class indices. A rare class gets a weight above 1, a common one below 1, so
    that every class pulls on the loss about as hard. A class with no pixels gets weight 0.
    Returns (num_classes,) float32.
    """
    labels = torch.as_tensor(masks).long().reshape(-1)
    if ignore_index is not None:
        labels = labels[labels != ignore_index]
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"masks must hold class indices in [0, {num_classes - 1}], "
            f"got values from {int(labels.min())} to {int(labels.max())}"
        )
    counts = torch.bincount(labels, minlength=num_classes).double()
    frequency = counts / counts.sum().clamp(min=1)
    present = frequency > 0
    if not present.any():
        raise ValueError("masks hold no labelled pixel: cannot weigh classes")
    weights = torch.zeros(num_classes, dtype=torch.float64)
    # the usual median (the mean of the two middle values for an even count), unlike torch.median
    weights[present] = frequency[present].quantile(0.5) / frequency[present]
    return weights.float()


def colour_clusters(
    images: torch.Tensor, k: int, fit_pixels: int = 50_000, seed: int = 0
) -> tuple[np.ndarray, torch.Tensor]:
    """k-means on pixel colours (no labels): a cluster index for every pixel.

    images: (N, 3, H, W) uint8. The centres are fitted (scipy's ``kmeans2`` with k-means++ starts)
    on ``fit_pixels`` pixels drawn at random, then every pixel goes to its nearest centre.
    Returns ``(centres: (k, 3) float RGB 0..255, clusters: (N, H, W) int64)``.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be an (N, 3, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    pixels = images.permute(0, 2, 3, 1).reshape(-1, 3).double()
    rng = np.random.default_rng(seed)
    sample = pixels[torch.from_numpy(rng.choice(len(pixels), size=min(fit_pixels, len(pixels)), replace=False))]
    centres, _ = kmeans2(sample.numpy(), k, iter=30, minit="++", seed=rng)
    nearest = torch.cdist(pixels.float(), torch.from_numpy(centres).float()).argmin(dim=1)
    return centres, nearest.reshape(images.shape[0], *images.shape[-2:])
