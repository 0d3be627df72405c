"""Datasets: the toy world rendered once, cached on disk, and served as torch Datasets.

``load("toy-pets", "train")`` returns a :class:`ToyDataset` whose items follow torchvision's
detection convention: ``(image, target)`` with

* ``image``: ``tv_tensors.Image``, uint8, (3, H, W);
* ``target["label"]``: int, the scene's main class, 0-based into ``dataset.classes``;
* ``target["boxes"]``: ``BoundingBoxes`` (N, 4), XYXY in pixels, tight around visible pixels;
* ``target["labels"]``: int64 (N,), 1-based into ``dataset.categories`` (0 is background);
* ``target["masks"]``: ``Mask`` (N, H, W) bool, the visible pixels of each object, disjoint;
* ``target["semantic"]``: ``Mask`` (H, W) int64, indices into ``dataset.semantic_classes``;
* ``target["image_id"]``: int, the sample's index in its split.

The first ``load`` of a dataset renders it into ``datasets/`` (a progress bar shows how far it
is; where the course folder is read-only, into the per-user cache folder, see :func:`data_folder`); the files are written atomically next to a manifest of sha256 checksums, and a cache that
does not match its manifest is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch
from torchvision import tv_tensors
from tqdm.auto import tqdm

from . import toyworld
from .toyworld import SPECS, SPLITS, ToySpec

if TYPE_CHECKING:
    from .realdata import RealDataset

DATA_ENV = "CVLEARN_DATA"


@dataclass(frozen=True)
class DataFolder:
    """Where the caches go (``path``) and why there (``reason``, in words).

    ``course`` is the course folder (the one with ``datasets/`` and ``notebooks/``) when one was
    found; ``read_only`` says that the natural place (the course's ``datasets/``, or the working
    directory) cannot be written, so the caches went to the per-user cache folder instead.
    """

    path: Path
    reason: str
    course: Path | None = None
    read_only: bool = False


_decided: dict[tuple[str, Path], DataFolder] = {}
_announced: set[Path] = set()


def course_folder() -> Path | None:
    """The course folder: the first of the working directory and its parents that holds both
    ``datasets/`` and ``notebooks/`` (notebooks run inside ``notebooks/``), or None."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "datasets").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return None


def is_writable(folder: Path) -> bool:
    """Whether a file can really be created in ``folder`` (which must exist).

    Trying is the only honest test: ``os.access`` reads permission bits, which root ignores,
    and knows nothing of read-only mounts.
    """
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cvlearn-write-test-"):
            return True
    except OSError:
        return False


def user_cache_folder() -> Path:
    """The platform's per-user cache folder for cvlearn (``~/.cache/cvlearn`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("cvlearn"))


def _decide(course: Path | None) -> DataFolder:
    """The data folder when ``$CVLEARN_DATA`` is not set (tests writability; not cached)."""
    if course is not None:
        if is_writable(course / "datasets"):
            return DataFolder(course / "datasets", "the course's datasets folder", course)
        return DataFolder(user_cache_folder(), "the course's datasets folder is read-only, so caches go to "
                          "your user cache folder", course, read_only=True)
    local = Path("datasets")
    if is_writable(local if local.is_dir() else Path.cwd()):
        return DataFolder(local, "no course folder above the working directory, so ./datasets")
    return DataFolder(user_cache_folder(), "no course folder and the working directory is read-only, so "
                      "caches go to your user cache folder", read_only=True)


def data_folder() -> DataFolder:
    """Where datasets live, and why: ``$CVLEARN_DATA`` if set; else the course's ``datasets/``
    when it is writable; else the per-user cache folder (:func:`user_cache_folder`).

    The writability test runs once per folder and process. Falling back to the user cache
    folder is announced in one printed line, once per process.
    """
    if os.environ.get(DATA_ENV):
        return DataFolder(Path(os.environ[DATA_ENV]), f"set by ${DATA_ENV}", course_folder())
    course = course_folder()
    key = ("course", course) if course is not None else ("cwd", Path.cwd().resolve())
    if key not in _decided:
        _decided[key] = _decide(course)
    chosen = _decided[key]
    if chosen.read_only and not _announced:
        _announced.add(chosen.path)
        print(f"cvlearn: {chosen.reason}: {display_path(chosen.path)} (set {DATA_ENV} to choose another)")
    return chosen


def default_root() -> Path:
    """Where datasets are cached and downloaded: the path of :func:`data_folder`."""
    return data_folder().path


def readable_roots() -> list[Path]:
    """Every folder datasets are read from, in order: the data folder, then a read-only course
    folder's ``datasets/`` (a lecturer may have built or unpacked datasets there for everyone)."""
    chosen = data_folder()
    if chosen.read_only and chosen.course is not None:
        return [chosen.path, chosen.course / "datasets"]
    return [chosen.path]


def display_path(path: str | Path) -> str:
    """``path`` as a learner would write it: relative to the course folder, else under ``~``,
    else absolute, so that printed output names no machine-specific folders."""
    path = Path(path).resolve()
    course = course_folder()
    for base, prefix in ((course, None), (Path.home().resolve(), "~")):
        if base is not None and path.is_relative_to(base):
            relative = path.relative_to(base)
            return str(Path(prefix, relative) if prefix else relative)
    return str(path)


MIN_SIZE, MAX_SIZE = 32, 512
_ARRAYS = ("images", "instances", "semantic", "targets", "offsets", "labels", "boxes")


# --------------------------------------------------------------------------------------------
# Checking arguments
# --------------------------------------------------------------------------------------------


def check_name(name: Any) -> ToySpec:
    """The spec of a toy dataset, or a ValueError that lists the names there are."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a dataset name (str), got {type(name).__name__}: {name!r}")
    if name not in SPECS:
        from .download import SOURCES
        if name in SOURCES:
            raise ValueError(f"{name} is a real dataset: `cvlearn data download {name}` fetches it and "
                             f"cvlearn.data.load({name!r}, split) reads it; rendering, caching and "
                             f"verifying are for the toy datasets {sorted(SPECS)}")
        raise ValueError(f"unknown dataset name {name!r}; expected one of {sorted(SPECS)} (toy) "
                         f"or {sorted(SOURCES)} (real)")
    return SPECS[name]


def _check_split(split: Any) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    return split


def _check_int(value: Any, what: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}: {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{what} must be {bounds}, got {value}")
    return int(value)


# --------------------------------------------------------------------------------------------
# The cache on disk
# --------------------------------------------------------------------------------------------


def cache_paths(name: str, split: str, size: int, n: int, seed: int, root: str | Path | None = None) -> tuple[Path, Path]:
    """Where one split lives: its arrays (``.npz``) and its manifest (``.json``)."""
    folder = Path(root if root is not None else default_root()) / name / f"v{toyworld.GENERATOR_VERSION}-{size}px-seed{seed}"
    return folder / f"{split}-{n}.npz", folder / f"{split}-{n}.json"


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Write through a temporary file in the same folder, then rename it into place.

    A crash or Ctrl-C part way leaves either the old file or none, never half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_split(name: str, split: str, size: int, n: int, seed: int, progress: bool = True) -> dict[str, np.ndarray]:
    """Render ``n`` samples of one split into stacked arrays (see :func:`load` for their meaning)."""
    images = np.empty((n, 3, size, size), dtype=np.uint8)
    instances = np.empty((n, size, size), dtype=np.uint8)
    semantic = np.empty((n, size, size), dtype=np.uint8)
    targets = np.empty(n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    labels, boxes = [], []
    bar = tqdm(range(n), desc=f"rendering {name} {split}", unit="img", disable=not progress, leave=False)
    for i in bar:
        _, out = toyworld.generate(name, split, i, seed=seed, size=size)
        images[i] = out.image.transpose(2, 0, 1)
        instances[i], semantic[i], targets[i] = out.instances, out.semantic, out.label
        labels.append(out.labels)
        boxes.append(out.boxes)
        offsets[i + 1] = offsets[i] + len(out.labels)
    return {"images": images, "instances": instances, "semantic": semantic, "targets": targets,
            "offsets": offsets, "labels": np.concatenate(labels), "boxes": np.concatenate(boxes)}


def _manifest(name: str, split: str, size: int, n: int, seed: int, digest: str) -> dict:
    return {"dataset": name, "split": split, "size": size, "n": n, "seed": seed,
            "generator_version": toyworld.GENERATOR_VERSION, "sha256": digest}


def build_split(name: str, split: str, size: int, n: int, seed: int, root: str | Path | None = None,
                progress: bool = True) -> Path:
    """Render one split and write it atomically: the arrays first, then their manifest."""
    arrays_path, manifest_path = cache_paths(name, split, size, n, seed, root)
    arrays = render_split(name, split, size, n, seed, progress)
    _atomic_write(arrays_path, lambda f: np.savez(f, **arrays))
    manifest = _manifest(name, split, size, n, seed, sha256(arrays_path))
    _atomic_write(manifest_path, lambda f: json.dump(manifest, f, indent=2), mode="w")
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
            return {k: f[k] for k in _ARRAYS}
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

    def __init__(self, spec: ToySpec, split: str, size: int, seed: int, arrays: dict[str, np.ndarray],
                 transforms: Callable | None = None) -> None:
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

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"ToyDataset({self.name!r}, split={self.split!r}, n={len(self)}, size={self.size}, "
                f"seed={self.seed}, classes={list(self.classes)})")

    def __getitem__(self, index: int) -> tuple[tv_tensors.Image, dict[str, Any]]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} samples")
        index = index % len(self)
        image, target = tv_tensors.Image(self.images[index]), self.target(index)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    def target(self, index: int) -> dict[str, Any]:
        """Every annotation of sample ``index`` (see the module docstring for the keys)."""
        lo, hi = int(self._offsets[index]), int(self._offsets[index + 1])
        ids = torch.arange(1, hi - lo + 1, dtype=torch.uint8)
        masks = self._instances[index].unsqueeze(0) == ids.view(-1, 1, 1)
        return {
            "label": int(self.targets[index]),
            "boxes": tv_tensors.BoundingBoxes(self._boxes[lo:hi].clone(), format="XYXY",
                                              canvas_size=(self.size, self.size)),
            "labels": self._labels[lo:hi].clone(),
            "masks": tv_tensors.Mask(masks),
            "semantic": tv_tensors.Mask(self._semantic[index].long()),
            "image_id": index,
        }

    @property
    def semantic_masks(self) -> torch.Tensor:
        """(N, H, W) uint8 semantic masks of the whole split, for dense-prediction training."""
        return self._semantic

    def scene(self, index: int) -> toyworld.Scene:
        """The scene description sample ``index`` was rendered from."""
        scene, _ = toyworld.generate(self.name, self.split, index, seed=self.seed, size=self.size)
        return scene


def load(name: str, split: str = "train", root: str | Path | None = None, size: int | None = None,
         n: int | None = None, seed: int = 0, transforms: Callable | None = None,
         progress: bool = True, download: bool = False) -> ToyDataset | RealDataset:
    """One split of a dataset, rendered and cached on first use.

    Args:
        name: a toy dataset, one of ``toyworld.SPECS`` (``"toy-pets"``, ``"toy-fruit"``, ...),
            or a real one, ``"oxford-pets"``, ``"penn-fudan"`` or ``"voc2012"``, read by
            :func:`cvlearn.realdata.load` in the same format (photos vary in size unless
            ``size`` is given; ``seed`` does not apply).
        split: ``"train"``, ``"val"`` or ``"test"``; splits never share a scene.
        root: the folder that holds the caches (default :func:`default_root`).
        size: image side in pixels (32 to 512); default the dataset's own.
        n: number of samples; default the dataset's own for that split.
        seed: the same seed gives the same data, byte for byte.
        transforms: optional ``transforms.v2`` callable applied to ``(image, target)``.
        progress: show a progress bar while rendering.
        download: for a real dataset that is not on disk, fetch it (otherwise a
            ``cvlearn.download.DataMissingError`` says how).
    """
    from .download import SOURCES
    if isinstance(name, str) and name in SOURCES:
        from . import realdata
        return realdata.load(name, split, root, size=size, n=n, transforms=transforms, progress=progress,
                             download=download)
    spec = check_name(name)
    split = _check_split(split)
    size = _check_int(spec.size if size is None else size, "size", MIN_SIZE, MAX_SIZE)
    n = _check_int(spec.splits[split] if n is None else n, "n", 1)
    seed = _check_int(seed, "seed", 0)
    root = _cached_root(name, split, size, n, seed) if root is None else root
    arrays_path, _ = cache_paths(name, split, size, n, seed, root)
    problem = verify_split(name, split, size, n, seed, root)
    arrays = None if problem else _read_arrays(arrays_path)
    if arrays is None:
        if problem not in (None, "not built yet"):
            print(f"cache {arrays_path} is invalid ({problem}); rebuilding it")
        build_split(name, split, size, n, seed, root, progress)
        arrays = _read_arrays(arrays_path)
    return ToyDataset(spec, split, size, seed, arrays, transforms)


def build(name: str, root: str | Path | None = None, size: int | None = None, seed: int = 0,
          progress: bool = True) -> list[Path]:
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


def collate_detection(batch: list[tuple[Any, dict]]) -> tuple[list, list[dict]]:
    """Keep images and targets as lists: detection targets differ in length per image."""
    images, targets = zip(*batch)
    return list(images), list(targets)
