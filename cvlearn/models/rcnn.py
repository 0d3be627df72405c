"""The parts torchvision's two-stage detectors share here: Faster R-CNN (notebook 03) and Mask R-CNN
(notebook 05, which is Faster R-CNN plus a mask head).

:class:`RCNNSettings` holds every size that makes them fit 64 to 128 px pictures and a CPU,
:func:`rcnn_kwargs` turns settings into the keyword arguments of torchvision's constructors,
and :class:`LevelsRPN` is torchvision's region proposal network restricted to some pyramid levels.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import MultiScaleRoIAlign

from .backbones import IMAGE_MEAN, IMAGE_STD

__all__ = ["LevelsRPN", "RCNNSettings", "levels_rpn", "rcnn_kwargs"]


@dataclass(frozen=True)
class RCNNSettings:
    """The sizes that make torchvision's R-CNNs fit 64 to 128 px pictures and a CPU.

    torchvision's defaults are made for COCO photos on a GPU: every picture resized to 800 px,
    ResNet-50 with 256-channel features, anchors from 32 to 512 px, 2000 proposals, 512 RoIs per
    image. Here:

    widths, channels: the backbone (:class:`TinyFPNBackbone`) and its pyramid's channels.
    image_size: pictures are used at their own size (``min_size = max_size``), never resized up.
    anchor_sizes: one anchor side in pixels per pyramid level (strides 4, 8, 16).
    aspect_ratios: anchor height / width at every size.
    rpn_*: proposals kept before / after NMS, anchors sampled per image for the RPN loss, and
        the IoU that makes an anchor a positive (torchvision's 0.7).
    box_batch_size_per_image: proposals sampled per image for the box head's loss.
    box_representation: width of the box head's two fully connected layers (torchvision: 1024).
    sampling_ratio: RoIAlign samples per bin and axis (1: 4x cheaper than torchvision's 2, whose
        CPU backward is the costliest op of a step).
    """

    widths: tuple[int, ...] = (24, 48, 96, 128)
    channels: int = 64
    image_size: int = 96
    anchor_sizes: tuple[int, ...] = (12, 24, 48)
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    rpn_pre_nms_top_n_train: int = 600
    rpn_post_nms_top_n_train: int = 300
    rpn_pre_nms_top_n_test: int = 300
    rpn_post_nms_top_n_test: int = 100
    rpn_batch_size_per_image: int = 64
    rpn_fg_iou_thresh: float = 0.7
    box_batch_size_per_image: int = 32
    box_positive_fraction: float = 0.25
    box_nms_thresh: float = 0.5
    box_score_thresh: float = 0.05
    box_detections_per_img: int = 100
    box_representation: int = 256
    sampling_ratio: int = 1
    image_mean: tuple[float, ...] = IMAGE_MEAN
    image_std: tuple[float, ...] = IMAGE_STD

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rcnn_kwargs(settings: RCNNSettings, num_classes: int) -> dict[str, Any]:
    """Keyword arguments for ``FasterRCNN`` (and ``MaskRCNN``) that apply ``settings``.

    The sizes, anchors, proposal counts, RoI pooling and a box head scaled to the backbone;
    pass the result with a backbone of ``settings.channels`` output channels.
    """
    levels = [str(i) for i in range(len(settings.anchor_sizes))]
    anchors = AnchorGenerator(tuple((a,) for a in settings.anchor_sizes), (settings.aspect_ratios,) * len(levels))
    c, r = settings.channels, settings.box_representation
    return dict(
        num_classes=None,
        min_size=settings.image_size,
        max_size=settings.image_size,
        image_mean=list(settings.image_mean),
        image_std=list(settings.image_std),
        _skip_resize=True,
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=settings.rpn_pre_nms_top_n_train,
        rpn_post_nms_top_n_train=settings.rpn_post_nms_top_n_train,
        rpn_pre_nms_top_n_test=settings.rpn_pre_nms_top_n_test,
        rpn_post_nms_top_n_test=settings.rpn_post_nms_top_n_test,
        rpn_batch_size_per_image=settings.rpn_batch_size_per_image,
        rpn_fg_iou_thresh=settings.rpn_fg_iou_thresh,
        # the pyramid's finest level (stride 4) holds enough detail for every fruit
        box_roi_pool=MultiScaleRoIAlign(["0"], output_size=7, sampling_ratio=settings.sampling_ratio),
        box_head=TwoMLPHead(c * 7 * 7, r),
        box_predictor=FastRCNNPredictor(r, num_classes),
        box_batch_size_per_image=settings.box_batch_size_per_image,
        box_positive_fraction=settings.box_positive_fraction,
        box_nms_thresh=settings.box_nms_thresh,
        box_score_thresh=settings.box_score_thresh,
        box_detections_per_img=settings.box_detections_per_img,
    )


class LevelsRPN(RegionProposalNetwork):
    """torchvision's RPN, looking only at the pyramid levels named in ``levels``."""

    def __init__(self, levels: Sequence[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.levels = list(levels)

    def forward(self, images: Any, features: dict[str, torch.Tensor], targets: Any = None) -> Any:
        return super().forward(images, OrderedDict((k, features[k]) for k in self.levels), targets)


def levels_rpn(settings: RCNNSettings, anchors: AnchorGenerator) -> LevelsRPN:
    """torchvision's RPN with ``settings``' sizes, looking at the pyramid levels of strides 4 to
    16 only (Mask R-CNN's and Keypoint R-CNN's finer stride-2 level is for their mask and
    keypoint heads; anchors are one size per level)."""
    head = RPNHead(settings.channels, anchors.num_anchors_per_location()[0])
    return LevelsRPN(
        ["0", "1", "2"],
        anchors,
        head,
        fg_iou_thresh=settings.rpn_fg_iou_thresh,
        bg_iou_thresh=0.3,
        batch_size_per_image=settings.rpn_batch_size_per_image,
        positive_fraction=0.5,
        pre_nms_top_n={"training": settings.rpn_pre_nms_top_n_train, "testing": settings.rpn_pre_nms_top_n_test},
        post_nms_top_n={"training": settings.rpn_post_nms_top_n_train, "testing": settings.rpn_post_nms_top_n_test},
        nms_thresh=0.7,
    )
