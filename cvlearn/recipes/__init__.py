"""Reference recipes: the exact configuration each notebook trains, runnable from the command line.

Each recipe loads its toy dataset, builds its model, trains it with :func:`cvlearn.train.fit`
and scores it on the held-out test split, returning a :class:`Result`. The notebook uses the
same configuration, so ``cvlearn bench`` and the notebook's scorecard report the same numbers.

Run one as ``cvlearn.recipes.classification()`` (each recipe module is callable and runs its
recipe; its configuration stays at ``cvlearn.recipes.classification.CONFIG``), by name as
``RECIPES["classification"]()``, or from a shell as ``cvlearn bench --only classification``.
A recipe function takes keyword arguments ``quick`` (a run of seconds for the tests, still long
enough to learn: its task's ``quick_bars`` in :mod:`cvlearn.tasks` say what it must reach),
``seed`` and ``progress``. Which recipes each notebook trains (the ones ``cvlearn bench`` runs
by default) is listed in :data:`cvlearn.tasks.TASKS`.
"""

import sys

from . import (
    classification,
    counting,
    detection,
    instance,
    keypoints,
    localisation,
    panoptic,
    pretrain,
    semantic,
    transfer,
)
from ._base import RECIPES, RecipeFn, RecipeModule, Result, Stopwatch, count_parameters, register

__all__ = [
    "RECIPES",
    "RecipeFn",
    "RecipeModule",
    "Result",
    "Stopwatch",
    "classification",
    "count_parameters",
    "counting",
    "detection",
    "instance",
    "keypoints",
    "localisation",
    "panoptic",
    "pretrain",
    "register",
    "semantic",
    "transfer",
]

# Every module that registered a recipe becomes callable. Swapping a module's class is the
# documented way to give a module behaviour.
for _recipe in RECIPES.values():
    sys.modules[_recipe.__module__].__class__ = RecipeModule
