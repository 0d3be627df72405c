"""Scores, built from scratch and checked against reference libraries; one submodule per task.

The names used in the notebooks are re-exported here.
"""

from .classification import accuracy, cluster_agreement, confusion_matrix
from .coco import coco_evaluate
from .detection import average_precision, box_iou, detection_outcomes, evaluate_detections, mean_average_precision
from .localisation import FOUND_IOU, localisation_scores, paired_iou
from .segmentation import boundary_mask, iou_from_confusion, match_clusters, mean_iou, per_class_iou, pixel_accuracy, segmentation_scores
from .instance import instance_metrics, mask_iou
