"""Old home of the real datasets' readers, kept so that ``from cvlearn.realdata import choose`` works:
everything here now lives in :mod:`cvlearn.data.real` (and each dataset's spec in its registry)."""

from .data.real import (
    MAX_SIZE,
    VOC2012,
    VOC_CLASSES,
    VOID,
    OxfordPets,
    PennFudan,
    RealDataError,
    RealDataset,
    RealSpec,
    choose,
    load,
    read_list,
    voc_objects,
    voc_palette,
)
from .data.registry import View

__all__ = [
    "MAX_SIZE",
    "READERS",
    "SPECS",
    "VOC2012",
    "VOC_CLASSES",
    "VOID",
    "OxfordPets",
    "PennFudan",
    "RealDataError",
    "RealDataset",
    "RealSpec",
    "choose",
    "load",
    "read_list",
    "voc_objects",
    "voc_palette",
]

SPECS = View("real")
"""Every real dataset's spec, by name: a live view of :mod:`cvlearn.data.registry`."""

READERS = View("real", lambda spec: spec.reader)
"""Every real dataset's reader class, by name: a live view of :mod:`cvlearn.data.registry`."""
