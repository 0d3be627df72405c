"""Where datasets live on disk, and writing there safely: the data folder, atomic writes, sha256.

The data folder is ``$CVLEARN_DATA`` if set; else the course's ``datasets/`` when it can be
written; else the per-user cache folder (:func:`user_cache_folder`), announced in one line.
Everything else of :mod:`cvlearn.data` asks :func:`default_root` or :func:`readable_roots`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_ENV",
    "DataFolder",
    "atomic_write",
    "course_folder",
    "data_folder",
    "default_root",
    "display_path",
    "is_writable",
    "readable_roots",
    "sha256",
    "user_cache_folder",
]

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
        return DataFolder(
            user_cache_folder(),
            "the course's datasets folder is read-only, so caches go to your user cache folder",
            course,
            read_only=True,
        )
    local = Path("datasets")
    if is_writable(local if local.is_dir() else Path.cwd()):
        return DataFolder(local, "no course folder above the working directory, so ./datasets")
    return DataFolder(
        user_cache_folder(),
        "no course folder and the working directory is read-only, so caches go to your user cache folder",
        read_only=True,
    )


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


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
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
