"""The course's models, one submodule per task; the names used in the notebooks are re-exported here.

* ``classification`` (notebook 01): :class:`SimpleCNN`;
* ``localisation`` (notebook 02): :class:`Localiser`, one class and one box per picture;
* ``detection`` (notebook 03): :class:`TinyDetector` and a small :func:`faster_rcnn`;
* ``segmentation`` (notebook 04): :class:`FCN` and :class:`UNet`;
* ``instance`` (notebook 05): a small :func:`maskrcnn`;
* ``counting`` (notebook 06): :class:`DensityNet`, a CSRNet-like density-map counter;
* ``keypoints`` (notebook 06): a small :func:`keypointrcnn` for pose estimation;
* ``backbones`` and ``rcnn``: the parts several of them share, and (notebook 07)
  :class:`BackboneClassifier`, the detectors' body as a classifier to pretrain.
"""

from ..images import as_float_images, eval_mode, predict_in_batches
from .backbones import BackboneClassifier, TinyFPNBackbone, body_state, load_body
from .classification import Normalise, SimpleCNN, channel_stats, embeddings, predict_probabilities
from .counting import DensityNet, predict_counts, predict_density
from .detection import DetectorSettings, TinyDetector, detect, detection_loader, faster_rcnn, tiny_detector
from .instance import SMALL, MaskRCNNSettings, maskness, maskrcnn, maskrcnn_stock, paste_masks, predict_instances
from .keypoints import POSE, KeypointRCNNSettings, flip_keypoints, keypointrcnn, predict_keypoints
from .localisation import BoxedSplit, LocalisationData, LocalisationLoss, Localiser, localise, main_boxes, with_boxes
from .rcnn import RCNNSettings
from .segmentation import FCN, UNet, colour_clusters, median_frequency_weights, predict_classes

__all__ = [
    "FCN",
    "POSE",
    "SMALL",
    "BackboneClassifier",
    "BoxedSplit",
    "DensityNet",
    "DetectorSettings",
    "KeypointRCNNSettings",
    "LocalisationData",
    "LocalisationLoss",
    "Localiser",
    "MaskRCNNSettings",
    "Normalise",
    "RCNNSettings",
    "SimpleCNN",
    "TinyDetector",
    "TinyFPNBackbone",
    "UNet",
    "as_float_images",
    "body_state",
    "channel_stats",
    "colour_clusters",
    "detect",
    "detection_loader",
    "embeddings",
    "eval_mode",
    "faster_rcnn",
    "flip_keypoints",
    "keypointrcnn",
    "load_body",
    "localise",
    "main_boxes",
    "maskness",
    "maskrcnn",
    "maskrcnn_stock",
    "median_frequency_weights",
    "paste_masks",
    "predict_classes",
    "predict_counts",
    "predict_density",
    "predict_in_batches",
    "predict_instances",
    "predict_keypoints",
    "predict_probabilities",
    "tiny_detector",
    "with_boxes",
]
