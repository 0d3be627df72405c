"""Scores, built from scratch and checked against reference libraries; one submodule per task.

The names used in the notebooks are re-exported here.
"""

from .classification import accuracy, cluster_agreement, confusion_matrix
from .coco import coco_evaluate, coco_evaluator, coco_results
from .counting import count_errors, density_map, error_by_crowd_size
from .detection import average_precision, box_iou, detection_outcomes, evaluate_detections, mean_average_precision
from .instance import instance_metrics, mask_iou
from .keypoints import KEYPOINT_SIGMAS, keypoint_metrics, object_keypoint_similarity, oks_matrix
from .localisation import FOUND_IOU, localisation_scores, paired_iou
from .panoptic import merge_panoptic, panoptic_quality
from .segmentation import (
    boundary_mask,
    iou_from_confusion,
    labelled_pixels,
    match_clusters,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
    segmentation_scores,
)

__all__ = [
    "FOUND_IOU",
    "KEYPOINT_SIGMAS",
    "accuracy",
    "average_precision",
    "boundary_mask",
    "box_iou",
    "cluster_agreement",
    "coco_evaluate",
    "coco_evaluator",
    "coco_results",
    "confusion_matrix",
    "count_errors",
    "density_map",
    "detection_outcomes",
    "error_by_crowd_size",
    "evaluate_detections",
    "instance_metrics",
    "iou_from_confusion",
    "keypoint_metrics",
    "labelled_pixels",
    "localisation_scores",
    "mask_iou",
    "match_clusters",
    "mean_average_precision",
    "mean_iou",
    "merge_panoptic",
    "object_keypoint_similarity",
    "oks_matrix",
    "paired_iou",
    "panoptic_quality",
    "per_class_iou",
    "pixel_accuracy",
    "segmentation_scores",
]
