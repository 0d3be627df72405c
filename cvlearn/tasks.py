"""The course's tasks, one entry each: what a task is made of, and where each part lives.

A :class:`Task` names everything that makes one vision task a chapter of the course: its
notebook, its toy and real datasets, its models and recipes, the metrics ``cvlearn bench``
reports for it, its widgets and its exercises. :data:`TASKS` holds them in the course's order,
and everything that lists tasks reads it: ``cvlearn bench`` (which recipes to run, which metric
columns to show), the tables of ``README.md`` (:func:`table`, :func:`notebook_rows`,
:func:`real_data_table`) and the task contract test (``tests/test_tasks.py``), which checks every
entry part by part. Adding a task is adding one entry here; the README's checklist "Adding a
task" lists the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from torch import Tensor, nn

from .data import registry
from .exercises import applications as applications_exercises
from .exercises import classification as classification_exercises
from .exercises import detection as detection_exercises
from .exercises import instance as instance_exercises
from .exercises import localisation as localisation_exercises
from .exercises import segmentation as segmentation_exercises
from .models import (
    FCN,
    DensityNet,
    Localiser,
    SimpleCNN,
    TinyDetector,
    UNet,
    detect,
    faster_rcnn,
    keypointrcnn,
    localise,
    maskrcnn,
    maskrcnn_stock,
    predict_classes,
    predict_counts,
    predict_instances,
    predict_keypoints,
    predict_probabilities,
)
from .recipes import classification, counting, detection, instance, keypoints, localisation, panoptic, semantic
from .widgets import (
    density_explorer,
    iou_playground,
    panoptic_explorer,
    pose_explorer,
    prediction_browser,
    prediction_explorer,
    score_explorer,
    segmentation_explorer,
    threshold_explorer,
)

__all__ = [
    "TASKS",
    "ModelBuilder",
    "Task",
    "course_recipes",
    "get",
    "headline_metrics",
    "names",
    "notebook_rows",
    "real_data_table",
    "register",
    "table",
    "task_of_recipe",
    "unregister",
]

ModelBuilder = Callable[[Any], nn.Module]
"""Builds a fresh model for a dataset (a split of the task's toy or real dataset)."""


@dataclass(frozen=True)
class Task:
    """One task of the course and the parts it is made of.

    name: what the task is called (``"detection"``).
    notebook: its notebook's file name without ``.ipynb`` (in ``notebooks/``).
    question: the question the notebook answers, as the README's table of notebooks puts it.
    toy_dataset, real_dataset: the registered datasets it trains on by default and on real
        photos (``None``: no real counterpart); the notebook's ``choose(DATA, toy=..., real=...)``.
    on_real_data: what changes on real photos, for the README's table.
    models: the public model factories of :mod:`cvlearn.models` the task teaches.
    recipes: each recipe of :data:`cvlearn.recipes.RECIPES` the notebook trains, mapped to a
        function that builds that recipe's model for a dataset; ``cvlearn bench`` runs them.
    predict: the batched prediction helper: ``predict(model, images)`` for (N, 3, H, W) uint8
        pictures, one prediction per picture.
    metrics: the headline scores its recipes report (keys of ``Result.metrics``), in the
        order ``cvlearn bench`` shows them.
    quick_bars: for each recipe, ``(metric, bar)``: the score its ``quick=True`` run must reach
        (at least ``bar``; at most, for an error in ``lower_is_better``), which a model that does
        not learn misses (the contract test runs both).
    widgets: the interactive explorers its notebook shows (from :mod:`cvlearn.widgets`).
    exercises: the module of :mod:`cvlearn.exercises` with its notebook's checkers.
    lower_is_better: the metrics among ``metrics`` that are errors (a count's MAE), for which
        less is better.
    """

    name: str
    notebook: str
    question: str
    toy_dataset: str
    real_dataset: str | None
    on_real_data: str
    models: tuple[Callable[..., nn.Module], ...]
    recipes: Mapping[str, ModelBuilder]
    predict: Callable[[nn.Module, Tensor], Any]
    metrics: tuple[str, ...]
    quick_bars: Mapping[str, tuple[str, float]]
    widgets: tuple[Callable[..., Any], ...]
    exercises: ModuleType
    lower_is_better: tuple[str, ...] = ()

    def reaches(self, recipe: str, value: float) -> bool:
        """Whether ``value`` of ``recipe``'s quick-bar metric reaches its bar (see ``quick_bars``)."""
        metric, bar = self.quick_bars[recipe]
        return value <= bar if metric in self.lower_is_better else value >= bar


TASKS: dict[str, Task] = {}
"""Every task, by name, in the course's order (the order of the notebooks)."""


def register(task: Task, replace: bool = False) -> Task:
    """Add ``task`` to :data:`TASKS` under ``task.name`` and return it (ValueError if the name is
    taken, unless ``replace``)."""
    if task.name in TASKS and not replace:
        raise ValueError(f"a task named {task.name!r} is registered already; pick another name, or pass replace=True")
    TASKS[task.name] = task
    return task


def unregister(name: str) -> None:
    """Forget the task ``name`` (nothing happens if there is none)."""
    TASKS.pop(name, None)


def names() -> list[str]:
    """The registered task names, in the course's order."""
    return list(TASKS)


def get(name: str) -> Task:
    """The task called ``name``, or a ValueError that lists the tasks there are."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of {names()}")
    return TASKS[name]


def task_of_recipe(recipe: str) -> Task:
    """The task whose notebook trains recipe ``recipe`` (ValueError for a recipe no task names)."""
    for task in TASKS.values():
        if recipe in task.recipes:
            return task
    raise ValueError(f"no task trains the recipe {recipe!r}; the tasks' recipes are {course_recipes()}")


def course_recipes() -> tuple[str, ...]:
    """The recipes the notebooks train, task by task: what ``cvlearn bench`` runs by default."""
    return tuple(recipe for task in TASKS.values() for recipe in task.recipes)


def headline_metrics() -> tuple[str, ...]:
    """Every task's headline metrics, task by task, each once: the metric columns of
    ``cvlearn bench``'s table, in order."""
    return tuple(dict.fromkeys(metric for task in TASKS.values() for metric in task.metrics))


# --------------------------------------------------------------------------------------------
# The README's tables
# --------------------------------------------------------------------------------------------


def _code(names: Any) -> str:
    return ", ".join(f"`{name}`" for name in names)


def table() -> str:
    """The tasks and their parts as a markdown table (``README.md``'s package section)."""
    rows = [
        "| task | notebook | data (toy / real) | models | recipes | headline metrics | widgets | exercises |",
        "|------|----------|-------------------|--------|---------|------------------|---------|-----------|",
    ]
    for t in TASKS.values():
        data = f"`{t.toy_dataset}` / " + (f"`{t.real_dataset}`" if t.real_dataset else "–")
        rows.append(
            f"| `{t.name}` | `{t.notebook}` | {data} | {_code(m.__name__ for m in t.models)} | "
            f"{_code(t.recipes)} | {_code(t.metrics)} | {_code(w.__name__ for w in t.widgets)} | "
            f"`{t.exercises.__name__}` |"
        )
    return "\n".join(rows)


def notebook_rows() -> list[str]:
    """The start of each task's row in ``README.md``'s table of notebooks: its notebook and its
    question (the time and score cells that follow are measured, not registered)."""
    return [f"| `{t.notebook}` | {t.question} |" for t in TASKS.values()]


def real_data_table() -> str:
    """The tasks with a real dataset as a markdown table (``README.md``'s "Switching to real data")."""
    rows = ["| notebook | `DATA =` | what changes | download |", "|----------|----------|--------------|----------|"]
    for t in TASKS.values():
        if t.real_dataset:
            size = registry.real_spec(t.real_dataset).source.size
            rows.append(f'| `{t.notebook}` | `"{t.real_dataset}"` | {t.on_real_data} | {size} |')
    return "\n".join(rows)


# --------------------------------------------------------------------------------------------
# The tasks
# --------------------------------------------------------------------------------------------

register(
    Task(
        name="classification",
        notebook="01_classification",
        question="cat or dog? a small CNN, Grad-CAM, k-means without labels",
        toy_dataset="toy-pets",
        real_dataset="oxford-pets",
        on_real_data='cat or dog, from 7,349 Oxford-IIIT Pet photos (37 breeds in `target["breed"]`)',
        models=(SimpleCNN,),
        recipes={"classification": lambda ds: classification.build_model(ds, classification.CONFIG)},
        predict=predict_probabilities,
        metrics=("accuracy",),
        quick_bars={"classification": ("accuracy", 0.7)},
        widgets=(prediction_explorer,),
        exercises=classification_exercises,
    )
)

register(
    Task(
        name="localisation",
        notebook="02_localisation",
        question="where is the animal? one box, IoU, a two-headed network",
        toy_dataset="toy-pets",
        real_dataset="oxford-pets",
        on_real_data="the box is the pet's head, from the dataset's XML (train and val splits only)",
        models=(Localiser,),
        recipes={"localisation": localisation.CONFIG.build_model},
        predict=localise,
        metrics=("accuracy", "mean_iou"),
        quick_bars={"localisation": ("mean_iou", 0.45)},
        widgets=(iou_playground, prediction_browser),
        exercises=localisation_exercises,
    )
)

register(
    Task(
        name="detection",
        notebook="03_object_detection",
        question="which fruits, and where? anchors, NMS, focal loss, a one-stage detector vs Faster R-CNN",
        toy_dataset="toy-fruit",
        real_dataset="voc2012",
        on_real_data="20 Pascal VOC classes, every object boxed",
        models=(TinyDetector, faster_rcnn),
        recipes={
            "detection": lambda ds: detection.DETECTOR.build_model(ds.categories),
            "detection_fasterrcnn": lambda ds: detection.FASTER_RCNN.build_model(ds.categories),
        },
        predict=detect,
        metrics=("map50", "map"),
        quick_bars={"detection": ("map50", 0.3), "detection_fasterrcnn": ("map50", 0.3)},
        widgets=(threshold_explorer,),
        exercises=detection_exercises,
    )
)

register(
    Task(
        name="semantic",
        notebook="04_semantic_segmentation",
        question="a class for every pixel: FCN, transposed convolutions, U-Net",
        toy_dataset="toy-pasture",
        real_dataset="voc2012",
        on_real_data="21 classes per pixel in VOC's palette; 255 marks unlabelled outlines",
        models=(FCN, UNet),
        recipes={"semantic": lambda ds: semantic.UNET.build_model(len(ds.semantic_classes))},
        predict=predict_classes,
        metrics=("miou", "pixel_accuracy"),
        quick_bars={"semantic": ("miou", 0.4)},
        widgets=(segmentation_explorer,),
        exercises=segmentation_exercises,
    )
)

register(
    Task(
        name="instance",
        notebook="05_instance_segmentation",
        question="pen 1 and pen 2: Mask R-CNN for small images, from scratch",
        toy_dataset="toy-pens",
        real_dataset="penn-fudan",
        on_real_data="pedestrians with instance masks, as in torchvision's Mask R-CNN tutorial",
        models=(maskrcnn, maskrcnn_stock),
        recipes={"instance": lambda ds: instance.build_model(instance.CONFIG, len(ds.categories))},
        predict=predict_instances,
        # the *_no_maskness pair: the same model scored with its maskness stage (scores multiplied
        # by mask confidence) switched off, as Mask R-CNN itself scores
        metrics=("box_ap50", "mask_ap50", "mask_ap", "mask_ap50_no_maskness", "mask_ap_no_maskness"),
        quick_bars={"instance": ("mask_ap50", 0.15)},
        widgets=(score_explorer,),
        exercises=instance_exercises,
    )
)

register(
    Task(
        name="pose",
        notebook="06_pose_crowds_panoptic",
        question="what instances are for: poses with Keypoint R-CNN, crowds as density maps, panoptic streets",
        toy_dataset="toy-street",
        real_dataset=None,
        on_real_data="COCO keypoints, described in the notebook (not downloaded)",
        models=(keypointrcnn,),
        recipes={"pose": lambda ds: keypoints.build_model(keypoints.CONFIG)},
        predict=predict_keypoints,
        metrics=("keypoint_ap50", "keypoint_ap"),
        quick_bars={"pose": ("keypoint_ap50", 0.1)},
        widgets=(pose_explorer,),
        exercises=applications_exercises,
    )
)

register(
    Task(
        name="counting",
        notebook="06_pose_crowds_panoptic",
        question="(the same notebook) a crowd counted from a density map, against counting detections",
        toy_dataset="toy-crowd",
        real_dataset=None,
        on_real_data="ShanghaiTech, described in the notebook (not downloaded)",
        models=(DensityNet,),
        recipes={"counting": lambda ds: counting.CONFIG.build_model()},
        predict=predict_counts,
        # (the recipe also reports ``mean_count``, the scale its errors are read against)
        metrics=("count_mae", "count_rmse", "detection_count_mae"),
        quick_bars={"counting": ("count_mae", 80.0)},
        widgets=(density_explorer,),
        exercises=applications_exercises,
        lower_is_better=("count_mae", "count_rmse", "detection_count_mae"),
    )
)

register(
    Task(
        name="panoptic",
        notebook="06_pose_crowds_panoptic",
        question="(the same notebook) stuff and things at once: a U-Net and Mask R-CNN merged, scored with PQ",
        toy_dataset="toy-street",
        real_dataset=None,
        on_real_data="Cityscapes panoptic, described in the notebook (not downloaded)",
        models=(UNet, maskrcnn),
        recipes={"panoptic": lambda ds: panoptic.build_model(panoptic.CONFIG, len(ds.categories))},
        predict=panoptic.predict_panoptic,
        metrics=("pq", "sq", "rq", "pq_things", "pq_stuff", "merge_ms_per_image"),
        quick_bars={"panoptic": ("pq", 0.2)},
        widgets=(panoptic_explorer,),
        exercises=applications_exercises,
        lower_is_better=("merge_ms_per_image",),
    )
)
