"""Building blocks and backbones the course's models share, so each is written once.

* :func:`conv_bn_relu`: 3x3 convolution, BatchNorm, ReLU; every block below is made of it;
* :func:`conv_pool_block`: one of those, then 2x2 max pooling (notebook 01's SimpleCNN and
  notebook 02's Localiser stack them);
* :func:`double_conv_block`: two of those (the U-Net's and the FCN's block, notebook 04);
* :class:`ResidualBlock` and :class:`TinyFPNBackbone`: the small residual CNN with a feature
  pyramid that notebook 03's detectors and notebook 05's Mask R-CNN are built on;
* :class:`BackboneClassifier`: the same residual CNN (its ``body``) with a classifier on top
  instead of the pyramid, which notebook 07 pretrains on crops of every toy object, and
  :func:`load_body`, which puts those weights into a detector's :class:`TinyFPNBackbone`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import torch
from torch import nn
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork

__all__ = [
    "BODY_KEYS",
    "IMAGE_MEAN",
    "IMAGE_STD",
    "BackboneClassifier",
    "ResidualBlock",
    "TinyFPNBackbone",
    "body_state",
    "conv_bn_relu",
    "conv_pool_block",
    "double_conv_block",
    "load_body",
    "residual_body",
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


BODY_KEYS = ("stem", "stages")
"""The modules that make up the residual CNN (the "body") of :class:`TinyFPNBackbone` and of
:class:`BackboneClassifier`: the weights that pass from one to the other."""


def residual_body(widths: tuple[int, ...]) -> tuple[nn.Sequential, nn.ModuleList]:
    """The residual CNN under the feature pyramid: a stem (stride 2) and three residual stages.

    ``widths`` lists 4 channel counts, one per stride (2, 4, 8, 16). Returns ``(stem, stages)``:
    ``stem`` maps (B, 3, H, W) to (B, widths[0], H/2, W/2); stage i halves the side again.
    """
    if len(widths) != 4:
        raise ValueError(f"widths must list 4 stage widths (strides 2, 4, 8, 16), got {widths!r}")
    w1, w2, w3, w4 = widths
    stem = nn.Sequential(conv_bn_relu(3, w1, stride=2), conv_bn_relu(w1, w1))
    stages = nn.ModuleList(
        [ResidualBlock(w1, w2, stride=2), ResidualBlock(w2, w3, stride=2), ResidualBlock(w3, w4, stride=2)]
    )
    return stem, stages


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
        self.fine_level = fine_level
        self.stem, self.stages = residual_body(widths)
        w1, w2, w3, w4 = widths
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


class BackboneClassifier(nn.Module):
    """The residual CNN of :class:`TinyFPNBackbone` as a classifier: body, global average pool, one
    linear layer. (B, 3, H, W) uint8 or float 0..1 pictures → (B, num_classes) logits.

    Pictures are normalised with :data:`IMAGE_MEAN` and :data:`IMAGE_STD`, as the detectors'
    transform normalises them, so the body sees the same numbers in both jobs and its weights can
    move from one to the other (:func:`load_body`).
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (24, 48, 96, 128)) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
        self.widths = tuple(widths)
        self.stem, self.stages = residual_body(self.widths)
        self.head = nn.Linear(self.widths[-1], num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) pictures → (B, widths[-1], H/16, W/16): the body's last feature map."""
        x = images.float() / 255 if images.dtype == torch.uint8 else images
        mean, std = x.new_tensor(IMAGE_MEAN).view(1, 3, 1, 1), x.new_tensor(IMAGE_STD).view(1, 3, 1, 1)
        x = self.stem((x - mean) / std)
        for stage in self.stages:
            x = stage(x)
        return x

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean((2, 3)))


def _body_only(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.split(".")[0] in BODY_KEYS}


def body_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The body's weights (``stem.*``, ``stages.*``) of a :class:`BackboneClassifier` or a
    :class:`TinyFPNBackbone`, keyed as both name them."""
    return _body_only(model.state_dict())


def load_body(backbone: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Copy a pretrained body (``stem.*`` and ``stages.*`` weights, from :func:`body_state` or the
    course's cached weights) into ``backbone``, a :class:`TinyFPNBackbone` of the same widths.

    Only the body moves: the feature pyramid and every head keep their fresh weights. A key that
    is missing or of another shape raises a ValueError saying which, not torch's long message.
    """
    own = body_state(backbone)
    given = _body_only(state)
    missing = sorted(set(own) - set(given))
    wrong = sorted(k for k in set(own) & set(given) if own[k].shape != given[k].shape)
    if missing or wrong:
        raise ValueError(
            f"state must hold the body of a backbone with the same widths: "
            f"{len(missing)} weights missing (e.g. {missing[:2]}), {len(wrong)} of another shape (e.g. {wrong[:2]})"
        )
    backbone.load_state_dict(given, strict=False)
