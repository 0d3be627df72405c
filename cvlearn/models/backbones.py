"""Building blocks and backbones the course's models share, so each is written once.

* :func:`conv_bn_relu`: 3x3 convolution, BatchNorm, ReLU; every block below is made of it;
* :func:`conv_pool_block`: one of those, then 2x2 max pooling (notebook 01's SimpleCNN and
  notebook 02's Localiser stack them);
* :func:`double_conv_block`: two of those (the U-Net's and the FCN's block, notebook 04);
* :class:`ResidualBlock` and :class:`TinyFPNBackbone`: the small residual CNN with a feature
  pyramid that notebook 03's detectors and notebook 05's Mask R-CNN are built on.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork

__all__ = [
    "IMAGE_MEAN",
    "IMAGE_STD",
    "ResidualBlock",
    "TinyFPNBackbone",
    "conv_bn_relu",
    "conv_pool_block",
    "double_conv_block",
]

IMAGE_MEAN = (0.5, 0.5, 0.5)
IMAGE_STD = (0.25, 0.25, 0.25)
"""Per-channel mean and standard deviation (0..1 units) the detectors normalise pictures with."""


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 convolution → BatchNorm → ReLU: (N, c_in, H, W) → (N, c_out, H / stride, W / stride).

    The padding equals the dilation, so ``stride=1`` keeps H and W. The convolution has no bias
    because BatchNorm right after it subtracts the mean anyway.
    """
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def conv_pool_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """conv 3×3 (same size) → BatchNorm → ReLU → max-pool 2×2: (N, in, H, W) → (N, out, H/2, W/2)."""
    return nn.Sequential(*conv_bn_relu(in_channels, out_channels), nn.MaxPool2d(2))


def double_conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3×3 convolutions, each followed by BatchNorm and ReLU: (N, in, H, W) → (N, out, H, W)."""
    return nn.Sequential(*conv_bn_relu(in_channels, out_channels), *conv_bn_relu(out_channels, out_channels))


class ResidualBlock(nn.Module):
    """Two 3x3 convs with a shortcut (ResNet's basic block); ``stride=2`` halves the side."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn_relu(c_in, c_out, stride), nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class TinyFPNBackbone(nn.Module):
    """A small residual CNN with a feature pyramid on top, trained from scratch.

    Input (B, 3, H, W) float; output an ``OrderedDict`` of pyramid levels, each
    (B, fpn_channels, H/s, W/s): ``"0"`` at stride 4, ``"1"`` at 8, ``"2"`` at 16, and with
    ``fine_level`` also ``"fine"`` at stride 2. The RPN looks at levels "0" to "2"; the box head
    pools from level ``"0"``, where a 3 px wide pen still covers a feature cell. (Standard FPN,
    and torchvision's ``MultiScaleRoIAlign`` given several levels, assigns each RoI a level by
    its size, k = floor(4 + log2(sqrt(area) / 224)) within the levels given; here each head
    reads every RoI from one fixed level: ``"0"`` for the box head, ``"fine"`` (or ``"0"``) for
    the mask head.)
    """

    def __init__(
        self, widths: tuple[int, ...] = (24, 48, 96, 128), fpn_channels: int = 64, fine_level: bool = False
    ) -> None:
        super().__init__()
        if len(widths) != 4:
            raise ValueError(f"widths must list 4 stage widths (strides 2, 4, 8, 16), got {widths!r}")
        w1, w2, w3, w4 = widths
        self.fine_level = fine_level
        self.stem = nn.Sequential(conv_bn_relu(3, w1, stride=2), conv_bn_relu(w1, w1))
        self.stages = nn.ModuleList(
            [ResidualBlock(w1, w2, stride=2), ResidualBlock(w2, w3, stride=2), ResidualBlock(w3, w4, stride=2)]
        )
        self.fpn = FeaturePyramidNetwork([w1, w2, w3, w4] if fine_level else [w2, w3, w4], fpn_channels)
        self.out_channels = fpn_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        x = self.stem(x)
        features = OrderedDict()
        if self.fine_level:
            features["fine"] = x
        for i, stage in enumerate(self.stages):
            x = stage(x)
            features[str(i)] = x
        return self.fpn(features)
