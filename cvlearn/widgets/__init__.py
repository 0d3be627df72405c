"""Interactive widgets: thin ipywidgets wrappers over pure functions (which the tests call).

One submodule per notebook; the names used in the notebooks are re-exported here.
"""

from .classification import prediction_explorer, show_prediction
from .detection import apply_thresholds, threshold_counts, threshold_explorer, threshold_picture
from .instance import instance_counts, instance_picture, keep_confident, score_explorer
from .localisation import iou_picture, iou_playground, prediction_browser
from .segmentation import render_view, segmentation_explorer

__all__ = [
    "apply_thresholds",
    "instance_counts",
    "instance_picture",
    "iou_picture",
    "iou_playground",
    "keep_confident",
    "prediction_browser",
    "prediction_explorer",
    "render_view",
    "score_explorer",
    "segmentation_explorer",
    "show_prediction",
    "threshold_counts",
    "threshold_explorer",
    "threshold_picture",
]
