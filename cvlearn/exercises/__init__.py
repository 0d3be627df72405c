"""Automatic checkers for the notebooks' exercises.

A checker takes the learner's answer (a function, a model, a number), tests it on cases it
knows the answer to, prints one line (✓ with what was checked, or ✗ with a hint), and returns a
:class:`Feedback` that is truthy when the answer passed. Worked solutions in the notebooks run
through the same checker (``assert check_...(solution)``), so CI proves that every solution
passes. One submodule per notebook; :mod:`.feedback` holds what makes them all behave alike: a bad
answer (``None``, a stub, a wrong shape, a crash) is a ✗ with a hint, never a traceback, and an
unanswered one (``NotImplementedError``) says "not answered yet" and raises on.
"""

from .classification import (
    SHORTCUT_SIZE,
    add_colour_shortcut,
    check_accuracy,
    check_cluster_agreement,
    check_colour_shortcut,
    check_conv_output_size,
)
from .detection import check_average_precision, check_class_aware_nms, check_encode_offsets
from .feedback import Feedback, as_number, as_tensor, checker, run_answer, verdict
from .instance import check_mask_iou, check_roi_align, check_semantic_from_instances
from .localisation import check_flip, check_giou, check_xywh_to_xyxy
from .segmentation import check_class_weights, check_iou_from_confusion, check_transposed_conv

__all__ = [
    "SHORTCUT_SIZE",
    "Feedback",
    "add_colour_shortcut",
    "as_number",
    "as_tensor",
    "check_accuracy",
    "check_average_precision",
    "check_class_aware_nms",
    "check_class_weights",
    "check_cluster_agreement",
    "check_colour_shortcut",
    "check_conv_output_size",
    "check_encode_offsets",
    "check_flip",
    "check_giou",
    "check_iou_from_confusion",
    "check_mask_iou",
    "check_roi_align",
    "check_semantic_from_instances",
    "check_transposed_conv",
    "check_xywh_to_xyxy",
    "checker",
    "run_answer",
    "verdict",
]
