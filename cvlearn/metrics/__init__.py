"""Scores, built from scratch and checked against reference libraries; one submodule per task.

The names used in the notebooks are re-exported here.
"""

from .classification import accuracy, confusion_matrix
from .coco import coco_evaluate
