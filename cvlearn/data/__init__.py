"""Datasets, toy or real, in one format: ``load(name, split)`` returns a torch Dataset.

Items are ``(image, target)`` pairs in torchvision's detection convention (see
:mod:`cvlearn.data.toy` for every key). The package, module by module:

* :mod:`~cvlearn.data.registry`: every dataset is one spec, registered by name; ``load``, the
  ``cvlearn data`` command, ``cvlearn doctor`` and ``datasets/README.md`` read it;
* :mod:`~cvlearn.data.toy`: the toy world's datasets, rendered once and cached with checksums;
* :mod:`~cvlearn.data.real`: Oxford-IIIT Pet, Penn-Fudan and Pascal VOC 2012 read in the same format;
* :mod:`~cvlearn.data.download`: fetching the real ones, only when asked: checked, resumable;
* :mod:`~cvlearn.data.cache`: the data folder, atomic writes and sha256.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..images import collate_detection
from ..toyworld import SPECS
from . import cache, download, real, registry, toy
from .cache import (
    DATA_ENV,
    DataFolder,
    course_folder,
    data_folder,
    default_root,
    display_path,
    is_writable,
    readable_roots,
    sha256,
    user_cache_folder,
)
from .download import DataMissingError
from .real import RealDataset, RealSpec, choose
from .registry import get, names, register
from .toy import (
    MAX_SIZE,
    MIN_SIZE,
    ToyDataset,
    build,
    build_split,
    cache_paths,
    check_name,
    render_split,
    verify,
    verify_split,
)

__all__ = [
    "DATA_ENV",
    "MAX_SIZE",
    "MIN_SIZE",
    "SPECS",
    "AnyDataset",
    "DataFolder",
    "DataMissingError",
    "RealDataset",
    "RealSpec",
    "ToyDataset",
    "build",
    "build_split",
    "cache",
    "cache_paths",
    "check_name",
    "choose",
    "collate_detection",
    "course_folder",
    "data_folder",
    "default_root",
    "display_path",
    "download",
    "get",
    "is_writable",
    "load",
    "names",
    "readable_roots",
    "real",
    "register",
    "registry",
    "render_split",
    "sha256",
    "toy",
    "user_cache_folder",
    "verify",
    "verify_split",
]

AnyDataset = ToyDataset | RealDataset
"""What :func:`load` returns: one split of a toy or a real dataset, its items in the same format."""


def load(
    name: str,
    split: str = "train",
    root: str | Path | None = None,
    size: int | None = None,
    n: int | None = None,
    seed: int = 0,
    transforms: Callable | None = None,
    progress: bool = True,
    download: bool = False,
) -> AnyDataset:
    """One split of a registered dataset, toy or real, in the same format.

    Args:
        name: a toy dataset (``"toy-pets"``, ``"toy-fruit"``, ...), rendered and cached on first
            use, or a real one (``"oxford-pets"``, ``"penn-fudan"``, ``"voc2012"``), read from
            ``datasets/NAME/`` (photos vary in size unless ``size`` is given; ``seed`` does not
            apply). :func:`names` lists them all.
        split: ``"train"``, ``"val"`` or ``"test"``; splits never share a scene.
        root: the folder that holds the datasets (default :func:`default_root`).
        size: image side in pixels (toy: 32 to 512, default the dataset's own; real: 32 to 1024,
            default each photo's own).
        n: number of samples; default the dataset's own for that split.
        seed: the same seed gives the same toy data, byte for byte.
        transforms: optional ``transforms.v2`` callable applied to ``(image, target)``.
        progress: show a progress bar while rendering or downloading.
        download: for a real dataset that is not on disk, fetch it (otherwise a
            :class:`DataMissingError` says how).
    """
    if registry.get(name).kind == "real":
        return real.load(name, split, root, size=size, n=n, transforms=transforms, progress=progress, download=download)
    return toy.load(name, split, root, size=size, n=n, seed=seed, transforms=transforms, progress=progress)
