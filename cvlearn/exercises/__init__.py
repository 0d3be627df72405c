"""Automatic checkers for the notebooks' exercises.

A checker takes the learner's answer (a function, a model, a number) and tests it on cases it
knows the answer to; for a prediction or a design choice it runs the experiment itself, on what
it is handed after the answer (``check_thresholds(choose, candidates, targets)``). It prints one
line (✓ with what was checked, or ✗ with a hint), and returns a :class:`Feedback` that is truthy
when the answer passed. Worked solutions in the notebooks run
through the same checker (``assert check_...(solution)``), so CI proves that every solution
passes. One submodule per notebook; :mod:`.feedback` holds what makes them all behave alike: a bad
answer (``None``, a stub, a wrong shape, a crash) is a ✗ with a hint, never a traceback, and an
unanswered one (``NotImplementedError``) says "not answered yet" and raises on.
"""

from .applications import (
    TINY_PRED,
    TINY_TRUE,
    check_count_predictions,
    check_density_map,
    check_oks,
    check_tiny_pq,
)
from .classification import (
    SHORTCUT_SIZE,
    add_colour_shortcut,
    check_accuracy,
    check_cluster_agreement,
    check_colour_shortcut,
    check_conv_output_size,
    check_shape_predictions,
)
from .detection import check_average_precision, check_class_aware_nms, check_encode_offsets, check_thresholds, f1_at
from .feedback import Feedback, as_number, as_tensor, checker, run_answer, verdict
from .instance import anchor_recall, check_anchor_ratios, check_mask_iou, check_roi_align, check_semantic_from_instances
from .localisation import buggy_iou, check_fixed_iou, check_flip, check_giou, check_xywh_to_xyxy
from .segmentation import (
    buggy_pixel_loss,
    check_class_weights,
    check_iou_from_confusion,
    check_pixel_loss,
    check_transposed_conv,
)
from .transfer import (
    TRANSFER_QUESTIONS,
    check_freeze_all_but_head,
    check_parameter_groups,
    check_transfer_predictions,
)

__all__ = [
    "SHORTCUT_SIZE",
    "TINY_PRED",
    "TINY_TRUE",
    "TRANSFER_QUESTIONS",
    "Feedback",
    "add_colour_shortcut",
    "anchor_recall",
    "as_number",
    "as_tensor",
    "buggy_iou",
    "buggy_pixel_loss",
    "check_accuracy",
    "check_anchor_ratios",
    "check_average_precision",
    "check_class_aware_nms",
    "check_class_weights",
    "check_cluster_agreement",
    "check_colour_shortcut",
    "check_conv_output_size",
    "check_count_predictions",
    "check_density_map",
    "check_encode_offsets",
    "check_fixed_iou",
    "check_flip",
    "check_freeze_all_but_head",
    "check_giou",
    "check_iou_from_confusion",
    "check_mask_iou",
    "check_oks",
    "check_parameter_groups",
    "check_pixel_loss",
    "check_roi_align",
    "check_semantic_from_instances",
    "check_shape_predictions",
    "check_thresholds",
    "check_tiny_pq",
    "check_transfer_predictions",
    "check_transposed_conv",
    "check_xywh_to_xyxy",
    "checker",
    "f1_at",
    "run_answer",
    "verdict",
]
