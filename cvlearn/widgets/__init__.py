"""Interactive widgets: thin ipywidgets wrappers over pure functions (which the tests call).

One submodule per notebook; the names used in the notebooks are re-exported here.
"""

from .applications import (
    count_summary,
    density_explorer,
    density_picture,
    keep_poses,
    panoptic_colours,
    panoptic_explorer,
    panoptic_picture,
    pose_explorer,
    pose_picture,
    shown_bones,
    shown_joints,
)
from .augment import annotated_picture, augmentation_explorer, augmented_sample
from .classification import prediction_explorer, show_prediction
from .detection import apply_thresholds, threshold_counts, threshold_explorer, threshold_picture
from .instance import instance_counts, instance_picture, keep_confident, score_explorer
from .localisation import iou_picture, iou_playground, prediction_browser
from .segmentation import render_view, segmentation_explorer

__all__ = [
    "annotated_picture",
    "apply_thresholds",
    "augmentation_explorer",
    "augmented_sample",
    "count_summary",
    "density_explorer",
    "density_picture",
    "instance_counts",
    "instance_picture",
    "iou_picture",
    "iou_playground",
    "keep_confident",
    "keep_poses",
    "panoptic_colours",
    "panoptic_explorer",
    "panoptic_picture",
    "pose_explorer",
    "pose_picture",
    "prediction_browser",
    "prediction_explorer",
    "render_view",
    "score_explorer",
    "segmentation_explorer",
    "show_prediction",
    "shown_bones",
    "shown_joints",
    "threshold_counts",
    "threshold_explorer",
    "threshold_picture",
]
