"""The toy datasets: rendered once by the toy world, cached on disk, served as torch Datasets.

``load("toy-pets", "train")`` returns a :class:`ToyDataset` whose items follow torchvision's
detection convention: ``(image, target)`` with

* ``image``: ``tv_tensors.Image``, uint8, (3, H, W);
* ``target["label"]``: int, the scene's main class, 0-based into ``dataset.classes``;
* ``target["boxes"]``: ``BoundingBoxes`` (N, 4), XYXY in pixels, tight around visible pixels;
* ``target["labels"]``: int64 (N,), 1-based into ``dataset.categories`` (0 is background);
* ``target["masks"]``: ``Mask`` (N, H, W) bool, the visible pixels of each object, disjoint;
* ``target["semantic"]``: ``Mask`` (H, W) int64, indices into ``dataset.semantic_classes``;
* ``target["image_id"]``: int, the sample's index in its split.

Datasets whose spec lists ``extras`` add (``toy-street``, ``toy-crowd``):

* ``target["keypoints"]``: float32 (N, K, 3), x, y in pixels and v in {0, 1, 2} (COCO: 0 outside
  the picture, then x = y = 0; 1 hidden by another object or the person's own body; 2 visible),
  K = len(``dataset.spec.keypoints``); objects without joints (cars) get all-zero rows;
* ``target["panoptic"]``: ``Mask`` (H, W) int64, ``semantic * 1000 + instance`` (0 = background,
  void), see :func:`cvlearn.toyworld.panoptic_ids`;
* ``target["points"]``: float32 (N, 2), each person's head x, y in pixels; ``target["count"]``: int, N.

``dataset.target(i)`` builds every key; ``dataset.target(i, keys=("points", "count"))`` only those
asked for, which spares building ``masks`` (N, H, W) when a task needs points, counts or boxes.

The first ``load`` of a dataset renders it into ``datasets/`` (a progress bar shows how far it
is; where the course folder is read-only, into the per-user cache folder, see
:func:`cvlearn.data.cache.data_folder`); the files are written atomically next to a manifest of
sha256 checksums, and a cache that does not match its manifest is rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors
from tqdm.auto import tqdm

from .. import toyworld
from ..toyworld import SPLITS, ToySpec
from .cache import atomic_write, default_root, readable_roots, sha256
from .checks import check_int, check_split
from .registry import toy_spec

__all__ = [
    "MAX_SIZE",
    "MIN_SIZE",
    "ToyDataset",
    "build",
    "build_split",
    "cache_paths",
    "check_name",
    "load",
    "render_split",
    "table",
    "verify",
    "verify_split",
]

MIN_SIZE, MAX_SIZE = 32, 512
_ARRAYS = ("images", "instances", "semantic", "targets", "offsets", "labels", "boxes")
_EXTRA_ARRAYS = {"keypoints": "keypoints", "points": "points"}
"""Arrays stored only for datasets whose spec lists the extra (so older caches keep their bytes):
``keypoints`` (total objects, K, 3) and ``points`` (total objects, 2), cut by ``offsets`` like ``labels``."""
_TARGET_KEYS = ("label", "boxes", "labels", "masks", "semantic", "image_id")
_EXTRA_KEYS = ("keypoints", "panoptic", "points", "count")
"""Every target has :data:`_TARGET_KEYS`; a dataset adds those of :data:`_EXTRA_KEYS` its spec lists."""


def check_name(name: Any) -> ToySpec:
    """The spec of a toy dataset, or a ValueError that lists the names there are."""
    return toy_spec(name)


# --------------------------------------------------------------------------------------------
# The cache on disk
# --------------------------------------------------------------------------------------------


def cache_paths(
    name: str, split: str, size: int, n: int, seed: int, root: str | Path | None = None
) -> tuple[Path, Path]:
    """Where one split lives: its arrays (``.npz``) and its manifest (``.json``)."""
    folder = (
        Path(root if root is not None else default_root()) / name / f"v{toyworld.GENERATOR_VERSION}-{size}px-seed{seed}"
    )
    return folder / f"{split}-{n}.npz", folder / f"{split}-{n}.json"


def render_split(name: str, split: str, size: int, n: int, seed: int, progress: bool = True) -> dict[str, np.ndarray]:
    """Render ``n`` samples of one split into stacked arrays (see :func:`load` for their meaning)."""
    spec = toyworld.SPECS[name]
    extras = [key for key in _EXTRA_ARRAYS if key in spec.extras]
    images = np.empty((n, 3, size, size), dtype=np.uint8)
    # a crowd holds more people than a byte can number
    instances = np.empty((n, size, size), dtype=np.uint16 if "points" in spec.extras else np.uint8)
    semantic = np.empty((n, size, size), dtype=np.uint8)
    targets = np.empty(n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    labels, boxes = [], []
    extra: dict[str, list[np.ndarray]] = {key: [] for key in extras}
    bar = tqdm(range(n), desc=f"rendering {name} {split}", unit="img", disable=not progress, leave=False)
    for i in bar:
        _, out = toyworld.generate(name, split, i, seed=seed, size=size)
        images[i] = out.image.transpose(2, 0, 1)
        instances[i], semantic[i], targets[i] = out.instances, out.semantic, out.label
        labels.append(out.labels)
        boxes.append(out.boxes)
        for key in extras:
            extra[key].append(getattr(out, key))
        offsets[i + 1] = offsets[i] + len(out.labels)
    return {
        **{key: np.concatenate(values) for key, values in extra.items()},
        "images": images,
        "instances": instances,
        "semantic": semantic,
        "targets": targets,
        "offsets": offsets,
        "labels": np.concatenate(labels),
        "boxes": np.concatenate(boxes),
    }


def _manifest(name: str, split: str, size: int, n: int, seed: int, digest: str) -> dict:
    return {
        "dataset": name,
        "split": split,
        "size": size,
        "n": n,
        "seed": seed,
        "generator_version": toyworld.GENERATOR_VERSION,
        "sha256": digest,
    }


def build_split(
    name: str, split: str, size: int, n: int, seed: int, root: str | Path | None = None, progress: bool = True
) -> Path:
    """Render one split and write it atomically: the arrays first, then their manifest."""
    arrays_path, manifest_path = cache_paths(name, split, size, n, seed, root)
    arrays = render_split(name, split, size, n, seed, progress)
    # numpy's stubs let **arrays stand for savez's allow_pickle flag too, which mypy then rejects
    atomic_write(arrays_path, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
    manifest = _manifest(name, split, size, n, seed, sha256(arrays_path))
    atomic_write(manifest_path, lambda f: json.dump(manifest, f, indent=2), mode="w")
    return arrays_path


def verify_split(name: str, split: str, size: int, n: int, seed: int, root: str | Path | None = None) -> str | None:
    """None if the cached split matches its manifest, else what is wrong (in words)."""
    arrays_path, manifest_path = cache_paths(name, split, size, n, seed, root)
    if not arrays_path.exists() or not manifest_path.exists():
        return "not built yet"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        return f"manifest unreadable ({err})"
    if manifest != _manifest(name, split, size, n, seed, manifest.get("sha256")):
        return "manifest describes other settings"
    if sha256(arrays_path) != manifest["sha256"]:
        return "checksum mismatch (the file changed or is corrupt)"
    return None


def _cached_root(name: str, split: str, size: int, n: int, seed: int) -> Path:
    """The folder to load one split from: the data folder, unless only a read-only course
    folder holds a valid copy of it."""
    first, *others = readable_roots()
    if cache_paths(name, split, size, n, seed, first)[1].exists():
        return first
    return next((r for r in others if verify_split(name, split, size, n, seed, r) is None), first)


def _read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path) as f:
            return {k: f[k] for k in (*_ARRAYS, *(k for k in _EXTRA_ARRAYS if k in f.files))}
    except (OSError, ValueError, KeyError, EOFError):
        return None


# --------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------


class ToyDataset(torch.utils.data.Dataset):
    """One split of a toy dataset, held in memory as uint8 arrays.

    ``images`` (N, 3, H, W) uint8 and ``targets`` (N,) int64 are exposed as tensors for fast,
    whole-dataset work (a classifier can train straight from them); indexing gives the full
    ``(image, target)`` pair described in this module's docstring.
    """

    def __init__(
        self,
        spec: ToySpec,
        split: str,
        size: int,
        seed: int,
        arrays: dict[str, np.ndarray],
        transforms: Callable | None = None,
    ) -> None:
        self.spec, self.split, self.size, self.seed = spec, split, size, seed
        self.name = spec.name
        self.classes, self.categories = spec.classes, spec.categories
        self.semantic_classes, self.palette = spec.semantic_classes, spec.palette
        self.transforms = transforms
        self.images = torch.from_numpy(arrays["images"])
        self.targets = torch.from_numpy(arrays["targets"])
        self._instances = torch.from_numpy(arrays["instances"])
        self._semantic = torch.from_numpy(arrays["semantic"])
        self._offsets = arrays["offsets"]
        self._labels = torch.from_numpy(arrays["labels"])
        self._boxes = torch.from_numpy(arrays["boxes"])
        # torch compares uint16 poorly; crowds' instance ids are widened once here
        if arrays["instances"].dtype != np.uint8:
            self._instances = torch.from_numpy(arrays["instances"].astype(np.int32))
        self._extras = {k: torch.from_numpy(arrays[k]) for k in _EXTRA_ARRAYS if k in arrays}

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (
            f"ToyDataset({self.name!r}, split={self.split!r}, n={len(self)}, size={self.size}, "
            f"seed={self.seed}, classes={list(self.classes)})"
        )

    def __getitem__(self, index: int) -> tuple[tv_tensors.Image, dict[str, Any]]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} samples")
        index = index % len(self)
        image, target = tv_tensors.Image(self.images[index]), self.target(index)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    @property
    def target_keys(self) -> tuple[str, ...]:
        """The keys of this dataset's targets, in their order: the common ones, then its extras."""
        return (*_TARGET_KEYS, *(key for key in _EXTRA_KEYS if key in self.spec.extras))

    def target(self, index: int, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """The annotations of sample ``index`` (see the module docstring for the keys): every one,
        or only ``keys`` of them, in the order asked.

        Asking for fewer keys saves more than time: ``masks`` is (N, H, W), one picture for each
        object, and a toy-crowd picture's hundreds of people make it about 5 MB, where its
        ``points``, ``count`` and ``boxes`` take a few kB.
        """
        chosen = self.target_keys if keys is None else self._check_keys(keys)
        lo, hi = int(self._offsets[index]), int(self._offsets[index + 1])
        return {key: self._annotation(key, index, lo, hi) for key in chosen}

    def _check_keys(self, keys: Iterable[str]) -> tuple[str, ...]:
        """``keys`` as a tuple, or a ValueError naming those this dataset's targets do not have."""
        if isinstance(keys, str):
            raise ValueError(
                f"keys must be a collection of target keys, such as ('points', 'count'), got the string {keys!r}"
            )
        chosen = tuple(keys)
        unknown = [key for key in chosen if key not in self.target_keys]
        if unknown:
            raise ValueError(f"keys must be among {list(self.target_keys)} for {self.name}, got {unknown}")
        return chosen

    def _annotation(self, key: str, index: int, lo: int, hi: int) -> Any:
        """One annotation of sample ``index``, whose objects are rows ``lo:hi`` of the per-object arrays."""
        match key:
            case "label":
                return int(self.targets[index])
            case "boxes":
                return tv_tensors.BoundingBoxes(
                    self._boxes[lo:hi].clone(), format="XYXY", canvas_size=(self.size, self.size)
                )
            case "labels":
                return self._labels[lo:hi].clone()
            case "masks":
                ids = torch.arange(1, hi - lo + 1, dtype=self._instances.dtype)
                return tv_tensors.Mask(self._instances[index].unsqueeze(0) == ids.view(-1, 1, 1))
            case "semantic":
                return tv_tensors.Mask(self._semantic[index].long())
            case "image_id":
                return index
            case "panoptic":
                semantic, instances = self._semantic[index].long(), self._instances[index].long()
                return tv_tensors.Mask(semantic * toyworld.PANOPTIC_DIVISOR + instances)
            case "count":
                return hi - lo
            case _:  # keypoints, points: per-object rows like labels
                return self._extras[key][lo:hi].clone()

    @property
    def semantic_masks(self) -> torch.Tensor:
        """(N, H, W) uint8 semantic masks of the whole split, for dense-prediction training."""
        return self._semantic

    def scene(self, index: int) -> toyworld.Scene:
        """The scene description sample ``index`` was rendered from."""
        scene, _ = toyworld.generate(self.name, self.split, index, seed=self.seed, size=self.size)
        return scene


def load(
    name: str,
    split: str = "train",
    root: str | Path | None = None,
    size: int | None = None,
    n: int | None = None,
    seed: int = 0,
    transforms: Callable | None = None,
    progress: bool = True,
) -> ToyDataset:
    """One split of a toy dataset, rendered and cached on first use.

    Args:
        name: a registered toy dataset (``"toy-pets"``, ``"toy-fruit"``, ...).
        split: ``"train"``, ``"val"`` or ``"test"``; splits never share a scene.
        root: the folder that holds the caches (default :func:`cvlearn.data.cache.default_root`).
        size: image side in pixels (32 to 512); default the dataset's own.
        n: number of samples; default the dataset's own for that split.
        seed: the same seed gives the same data, byte for byte.
        transforms: optional ``transforms.v2`` callable applied to ``(image, target)``.
        progress: show a progress bar while rendering.
    """
    spec = check_name(name)
    split = check_split(split)
    size = check_int(spec.size if size is None else size, "size", MIN_SIZE, MAX_SIZE)
    n = check_int(spec.splits[split] if n is None else n, "n", 1)
    seed = check_int(seed, "seed", 0)
    root = _cached_root(name, split, size, n, seed) if root is None else root
    arrays_path, _ = cache_paths(name, split, size, n, seed, root)
    problem = verify_split(name, split, size, n, seed, root)
    arrays = None if problem else _read_arrays(arrays_path)
    if arrays is None:
        if problem not in (None, "not built yet"):
            print(f"cache {arrays_path} is invalid ({problem}); rebuilding it")
        build_split(name, split, size, n, seed, root, progress)
        arrays = _read_arrays(arrays_path)
        assert arrays is not None, f"{arrays_path} is unreadable right after it was built"
    return ToyDataset(spec, split, size, seed, arrays, transforms)


def build(
    name: str, root: str | Path | None = None, size: int | None = None, seed: int = 0, progress: bool = True
) -> list[Path]:
    """Render (or check) every split of a dataset at its default sizes; returns the array files."""
    spec = check_name(name)
    size = spec.size if size is None else size
    for split in SPLITS:
        load(name, split, root, size=size, seed=seed, progress=progress)
    return [cache_paths(name, s, size, spec.splits[s], seed, root)[0] for s in SPLITS]


def verify(name: str, root: str | Path | None = None) -> dict[str, str | None]:
    """Check every cached split of a dataset against its manifest: {file: problem or None}."""
    check_name(name)
    report: dict[str, str | None] = {}
    root = default_root() if root is None else Path(root)
    for manifest_path in sorted((root / name).glob("*/*.json")):
        try:
            m = json.loads(manifest_path.read_text())
            problem = verify_split(name, m["split"], m["size"], m["n"], m["seed"], root)
        except (OSError, KeyError, json.JSONDecodeError) as err:
            problem = f"manifest unreadable ({err})"
        report[str(manifest_path.with_suffix(".npz"))] = problem
    return report


EXPORT_FORMATS = {
    "imagefolder": "ImageFolder",
    "coco": "COCO JSON",
    "voc": "palette PNGs",
    "coco-keypoints": "COCO keypoints JSON",
    "coco-panoptic": "COCO panoptic PNGs + JSON",
}


def table() -> str:
    """The toy datasets as a markdown table, one row per registered spec (``datasets/README.md``)."""
    rows = [
        "| name | scenes | image | train / val / test | object classes | pixel classes | export format |",
        "|------|--------|-------|--------------------|----------------|---------------|---------------|",
    ]
    for spec in toyworld.SPECS.values():  # the toy half of the registry, in the order registered
        splits = " / ".join(str(spec.splits[s]) for s in SPLITS)
        rows.append(
            f"| `{spec.name}` | {spec.description} | {spec.size} px | {splits} | {', '.join(spec.classes)} | "
            f"{', '.join(spec.semantic_classes)} | {EXPORT_FORMATS[spec.export_format]} |"
        )
    return "\n".join(rows)
