"""Reference recipes: the exact configuration each notebook trains, runnable from the command line.

Each recipe loads its toy dataset, builds its model, trains it with :func:`cvlearn.train.fit`
and scores it on the held-out test split, returning a :class:`Result`. The notebook uses the
same configuration, so ``cvlearn bench`` and the notebook's scorecard report the same numbers.

Run one as ``cvlearn.recipes.classification()`` (each recipe module is callable and runs its
recipe; its configuration stays at ``cvlearn.recipes.classification.CONFIG``), by name as
``RECIPES["classification"]()``, or from a shell as ``cvlearn bench --only classification``.
A recipe function takes keyword arguments ``quick`` (a seconds-long smoke run for tests),
``seed`` and ``progress``. ``COURSE`` lists the recipes the notebooks train, the ones
``cvlearn bench`` runs by default.
"""

from . import classification, detection, instance, localisation, semantic
from ._base import COURSE, RECIPES, RecipeFn, RecipeModule, Result, Stopwatch, count_parameters, register

__all__ = ["COURSE", "RECIPES", "RecipeFn", "RecipeModule", "Result", "Stopwatch", "classification",
           "count_parameters", "detection", "instance", "localisation", "register", "semantic"]

# Swapping a module's class is the documented way to give a module behaviour (here: calling it).
for _module in (classification, localisation, detection, semantic, instance):
    _module.__class__ = RecipeModule
