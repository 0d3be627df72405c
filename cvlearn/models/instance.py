"""Mask R-CNN for instance segmentation: a small-image, CPU-friendly build, and the stock one.

:func:`maskrcnn` builds torchvision's :class:`~torchvision.models.detection.MaskRCNN` around a
light backbone trained from scratch (:class:`TinyFPNBackbone`) and sets every size for 64 to
128 px pictures of long thin things (pens): no resize to 800 px, anchors of 16 to 64 px with
aspect ratios from 1:8 to 8:1, few proposals, small RoI samples, ``sampling_ratio=1`` RoIAlign
(CPU ``roi_align`` backward is the costliest op of a step otherwise), and a mask branch made
for 3 px wide pens: it pools from a stride-2 level, sees the whole RoI through dilated
convolutions, pastes its masks back without torchvision's rounding (:func:`paste_masks`). One stage is not
Mask R-CNN's: each detection's score is multiplied by its mask's confidence (:func:`maskness`,
as in SOLOv2), which ``settings.maskness=False`` or ``model.transform.maskness = False`` turns
off. The box part reuses notebook 03's
Faster R-CNN settings (:func:`cvlearn.models.rcnn.rcnn_kwargs`): Mask R-CNN is Faster
R-CNN plus a mask head.

:func:`maskrcnn_stock` is torchvision's ``maskrcnn_resnet50_fpn`` exactly as shipped (800 px
resize, ResNet-50, 256 channels), kept as the reference it is measured against.

Both follow torchvision's contract: in training mode ``model(images, targets)`` returns a dict
of losses; in eval mode ``model(images)`` returns one dict per image with ``boxes`` (K, 4) XYXY
in pixels, ``labels`` (K,), ``scores`` (K,) and ``masks`` (K, 1, H, W) probabilities.
:func:`predict_instances` runs a model over many pictures and gives (K, H, W) bool masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection import MaskRCNN, maskrcnn_resnet50_fpn, maskrcnn_resnet50_fpn_v2
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
from torchvision.models.detection.mask_rcnn import MaskRCNNPredictor
from torchvision.models.detection.transform import GeneralizedRCNNTransform, resize_boxes
from torchvision.ops import MultiScaleRoIAlign

from ..images import as_float_images, predict_in_batches
from .backbones import ResidualBlock, TinyFPNBackbone, conv_bn_relu
from .rcnn import LevelsRPN, RCNNSettings, levels_rpn, rcnn_kwargs

__all__ = [
    "SMALL",
    "AddCoordinates",
    "DilatedMaskHead",
    "LevelsRPN",
    "MaskRCNNSettings",
    "PreciseMaskTransform",
    "ResidualBlock",
    "TinyFPNBackbone",
    "maskness",
    "maskrcnn",
    "maskrcnn_stock",
    "paste_masks",
    "predict_instances",
]


@dataclass(frozen=True)
class MaskRCNNSettings(RCNNSettings):
    """Every size of the small-image Mask R-CNN, in one place (see :func:`maskrcnn`).

    It extends notebook 03's Faster R-CNN settings (:class:`cvlearn.models.rcnn.RCNNSettings`,
    whose fields keep their meaning) with the mask branch, and sets some of them for long thin pens:

    anchor_sizes: one anchor side in pixels per pyramid level (strides 4, 8, 16): 16 to 64 px.
    aspect_ratios: anchor height / width, from 1:8 to 8:1 for pens lying any way.
    rpn_fg_iou_thresh: 0.6, as a thin tilted pen rarely overlaps any anchor by torchvision's 0.7.
    box_detections_per_img: at most 20 pens a picture.

    The mask branch:

    mask_stride: the pyramid level the mask head pools from: 2 (a level finer than the RPN's,
        for 3 px wide pens) or 4.
    mask_pool_size: RoIAlign output side for the mask head (masks come out twice as large).
    mask_channels, mask_dilations: one 3x3 conv per dilation; growing dilations let the head see
        the whole RoI, which it needs to tell which of two crossing pens its box belongs to.
    mask_coords: give the head x and y coordinate channels (see :class:`AddCoordinates`).
    maskness: multiply each detection's score (the box classifier's) by its mask's mean
        confidence (:func:`maskness`, see :class:`PreciseMaskTransform`), so unsure masks rank
        lower in mask AP. Mask R-CNN does not do this; ``False`` keeps the box classifier's
        scores. A built model switches it with ``model.transform.maskness``.
    """

    anchor_sizes: tuple[int, ...] = (16, 32, 64)
    aspect_ratios: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    rpn_fg_iou_thresh: float = 0.6
    box_detections_per_img: int = 20
    mask_stride: int = 2
    mask_pool_size: int = 14
    mask_channels: int = 64
    mask_dilations: tuple[int, ...] = (1, 2, 4, 1)
    mask_coords: bool = True
    maskness: bool = True


SMALL = MaskRCNNSettings()
"""The settings the notebook and the ``instance`` recipe use."""


class AddCoordinates(nn.Module):
    """Append two channels, x and y from -1 to 1 across the RoI: (N, C, S, S) -> (N, C+2, S, S).

    Convolutions cannot tell where in the RoI they are; with coordinates the mask head can learn
    "the pen whose ends sit in the box's corners", which is what separates two crossing pens.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype).view(1, 1, h, 1).expand(n, 1, h, w)
        xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype).view(1, 1, 1, w).expand(n, 1, h, w)
        return torch.cat([x, xs, ys], dim=1)


class DilatedMaskHead(nn.Sequential):
    """The mask head: 3x3 convs with growing dilation over the pooled RoI features.

    (N, in_channels, S, S) -> (N, channels, S, S). Dilations (1, 2, 4, 1) see 17x17 cells, the
    whole 14x14 RoI.
    """

    def __init__(self, in_channels: int, channels: int, dilations: tuple[int, ...], coordinates: bool = True) -> None:
        layers: list[nn.Module] = [AddCoordinates()] if coordinates else []
        c_in = in_channels + 2 * coordinates
        for d in dilations:
            layers.append(conv_bn_relu(c_in, channels, dilation=d))
            c_in = channels
        super().__init__(*layers)


def paste_masks(masks: torch.Tensor, boxes: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """Paste the mask head's (K, 1, M, M) probabilities into the picture: (K, 1, H, W).

    boxes: (K, 4) XYXY in pixels (x2 - x1 is the width). Mask cell k of a box was trained on the
    ground truth sampled by ``roi_align(aligned=False)`` (torchvision's ``maskrcnn_loss``), which
    reads pixel j's value at coordinate j, i.e. half a pixel right of and below where the cell's
    centre lies. Sampling the cells back at exactly those places (bilinear, zero beyond the outer
    cells) undoes that projection. torchvision's ``paste_masks_in_image`` instead rounds boxes
    to whole pixels and stretches masks over one pixel more than the box: harmless on an 800 px
    photo, but on a 3 px wide pen it moves the edges by a pixel and costs a third of the IoU.
    """
    k, _, m, _ = masks.shape
    h, w = image_size
    if k == 0:
        return masks.new_zeros((0, 1, h, w))
    x1, y1, x2, y2 = boxes.to(masks.dtype).unbind(1)
    cell_w, cell_h = (x2 - x1).clamp(min=1) / m, (y2 - y1).clamp(min=1) / m
    cols = (torch.arange(w, device=masks.device, dtype=masks.dtype) - x1[:, None]) / cell_w[:, None] - 0.5
    rows = (torch.arange(h, device=masks.device, dtype=masks.dtype) - y1[:, None]) / cell_h[:, None] - 0.5
    # grid_sample's align_corners=False coordinates: -1 and 1 are the outer edges of the M cells
    grid_x = ((2 * cols + 1) / m - 1)[:, None, :].expand(k, h, w)
    grid_y = ((2 * rows + 1) / m - 1)[:, :, None].expand(k, h, w)
    grid = torch.stack([grid_x, grid_y], dim=-1)
    return F.grid_sample(masks, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def maskness(masks: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """(K,) mean probability over the pixels each (K, 1, H, W) mask claims (those above
    ``threshold``); 0 for an empty mask. A crisp mask scores near 1, a hesitant one lower."""
    inside = masks > threshold
    return (masks * inside).flatten(1).sum(1) / inside.flatten(1).sum(1).clamp(min=1)


class PreciseMaskTransform(GeneralizedRCNNTransform):
    """torchvision's pre- and post-processing, with masks pasted by :func:`paste_masks`.

    With ``maskness`` (the default), each detection's score (the box classifier's) is
    multiplied by its mask's :func:`maskness`, as SOLOv2 does (Mask Scoring R-CNN learns a head
    for the same purpose), and detections are re-sorted by the new score: mask AP ranks
    detections by score, and a confident box with a muddled mask (often one of two crossing
    pens) should not outrank a clean one. Mask R-CNN itself keeps the box classifier's score;
    ``maskness=False`` does too. The attribute may be switched on a trained model.
    """

    def __init__(self, *args: Any, maskness: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.maskness = maskness

    def postprocess(
        self,
        result: list[dict[str, torch.Tensor]],
        image_shapes: list[tuple[int, int]],
        original_image_sizes: list[tuple[int, int]],
    ) -> list[dict[str, torch.Tensor]]:
        if self.training:
            return result
        for i, (pred, shape, original) in enumerate(zip(result, image_shapes, original_image_sizes)):
            pred["boxes"] = resize_boxes(pred["boxes"], shape, original)
            if "masks" in pred:
                pred["masks"] = paste_masks(pred["masks"], pred["boxes"], original)
                if self.maskness:  # the switch; maskness(...) below is the module's function
                    pred["scores"] = pred["scores"] * maskness(pred["masks"])
                    order = torch.argsort(pred["scores"], descending=True)
                    result[i] = {k: v[order] for k, v in pred.items()}
        return result


def _small_maskrcnn(num_classes: int, s: MaskRCNNSettings) -> MaskRCNN:
    if len(s.anchor_sizes) != 3:
        raise ValueError(f"anchor_sizes must give one size per pyramid level (3), got {s.anchor_sizes!r}")
    if s.mask_stride not in (2, 4):
        raise ValueError(f"mask_stride must be 2 or 4, got {s.mask_stride!r}")
    faster = rcnn_kwargs(s, num_classes)
    backbone = TinyFPNBackbone(s.widths, s.channels, fine_level=s.mask_stride == 2)
    mask_level = "fine" if s.mask_stride == 2 else "0"
    model = MaskRCNN(
        backbone,
        **faster,
        mask_roi_pool=MultiScaleRoIAlign([mask_level], output_size=s.mask_pool_size, sampling_ratio=s.sampling_ratio),
        mask_head=DilatedMaskHead(s.channels, s.mask_channels, s.mask_dilations, s.mask_coords),
        mask_predictor=MaskRCNNPredictor(s.mask_channels, s.mask_channels, num_classes),
    )
    model.rpn = levels_rpn(s, faster["rpn_anchor_generator"])
    model.transform = PreciseMaskTransform(
        s.image_size, s.image_size, list(s.image_mean), list(s.image_std), _skip_resize=True, maskness=s.maskness
    )
    return model


def maskrcnn(
    num_classes: int | None = 2, *, weights: Any = None, settings: MaskRCNNSettings = SMALL, **overrides: Any
) -> MaskRCNN:
    """Mask R-CNN for small pictures, trained from scratch, or torchvision's pretrained one.

    Args:
        num_classes: classes including background (``len(dataset.categories)``; 2 for pens).
        weights: ``None`` builds the small model of ``settings`` from scratch. Anything else is
            passed to ``torchvision.models.detection.maskrcnn_resnet50_fpn_v2(weights=...)``
            (e.g. ``"DEFAULT"``); with a ``num_classes`` other than the weights' own, the box and
            mask predictors are replaced for fine-tuning, as in torchvision's tutorial.
        settings: the sizes (:class:`MaskRCNNSettings`; default :data:`SMALL`).
        **overrides: change single settings, e.g. ``maskrcnn(2, box_nms_thresh=0.5)``.

    Returns:
        A ``MaskRCNN`` in training mode.
    """
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2
    ):
        raise ValueError(f"num_classes must be an int >= 2 (background + classes), got {num_classes!r}")
    if weights is not None:
        return _pretrained(num_classes, weights)
    if num_classes is None:
        raise ValueError("num_classes is needed when weights is None (the model is trained from scratch)")
    if not isinstance(settings, MaskRCNNSettings):
        raise TypeError(f"settings must be a MaskRCNNSettings, got {type(settings).__name__}")
    unknown = set(overrides) - set(MaskRCNNSettings.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; expected names of MaskRCNNSettings")
    return _small_maskrcnn(num_classes, replace(settings, **overrides))


def _pretrained(num_classes: int | None, weights: Any) -> MaskRCNN:
    model = maskrcnn_resnet50_fpn_v2(weights=weights)
    own = model.roi_heads.box_predictor.cls_score.out_features
    if num_classes is not None and num_classes != own:
        box_in = model.roi_heads.box_predictor.cls_score.in_features
        model.roi_heads.box_predictor = FastRCNNPredictor(box_in, num_classes)
        mask_in = model.roi_heads.mask_predictor.conv5_mask.in_channels
        model.roi_heads.mask_predictor = MaskRCNNPredictor(mask_in, 256, num_classes)
    return model


def maskrcnn_stock(num_classes: int = 2) -> MaskRCNN:
    """torchvision's ``maskrcnn_resnet50_fpn`` as shipped, from scratch: the reference.

    ResNet-50 + 256-channel FPN, every picture resized to 800 px, 2000 proposals, 512 RoIs per
    image for the box loss and ``sampling_ratio=2`` RoIAlign: the settings made for COCO photos
    on a GPU. ``num_classes`` counts the background.
    """
    return maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=num_classes)


def predict_instances(
    model: nn.Module, images: torch.Tensor | Sequence[torch.Tensor], batch_size: int = 25, mask_threshold: float = 0.5
) -> list[dict[str, torch.Tensor]]:
    """Run a detection model in eval mode over ``images``, a batch at a time, on the CPU results.

    Args:
        images: an (N, 3, H, W) tensor or N (3, H, W) tensors, uint8 (0..255) or float (0..1).
        mask_threshold: mask probabilities above it count as the object's pixels.

    Returns:
        One dict per image: ``boxes`` (K, 4) XYXY pixels, ``labels`` (K,), ``scores`` (K,),
        sorted by falling score, and, for Mask R-CNN, ``masks`` (K, H, W) bool.
    """
    outputs = predict_in_batches(
        model, images, batch_size, prepare=lambda batch: [_as_float_image(image) for image in batch]
    )
    for out in outputs:
        if "masks" in out:
            out["masks"] = out["masks"][:, 0] > mask_threshold
    return outputs


def _as_float_image(image: torch.Tensor) -> torch.Tensor:
    """One picture (3, H, W) as float32 in 0..1, from uint8 or float (a tv_tensors.Image too)."""
    image = torch.as_tensor(image).as_subclass(torch.Tensor)
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"images must be (3, H, W) tensors, got shape {tuple(image.shape)}")
    return as_float_images(image).float()
