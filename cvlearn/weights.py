"""Pretrained torchvision weights: are they here, can they come, and a model built with them.

torchvision keeps downloaded weights in ``torch.hub.get_dir()/checkpoints/`` (by default
``~/.cache/torch/hub/checkpoints``; set ``TORCH_HOME`` to move it). A notebook's "real photos"
section asks :func:`available` first, which answers in well under a second without
downloading anything, then builds the model with :func:`load_pretrained`, which returns
``None`` after one line of guidance when the weights cannot be had::

    status = available("MaskRCNN_ResNet50_FPN_V2_Weights.DEFAULT")
    print(status)          # one line: cached, downloadable, or what is missing and how to get it
    model = load_pretrained("maskrcnn_resnet50_fpn_v2", weights="DEFAULT")
    if model is not None:
        ...

Models are built through torchvision's ``weights=`` API, and every ``torch.load`` on the way
runs with ``weights_only=True``: a weight file then holds tensors only and cannot run code.

The course's own weights (:data:`COURSE_WEIGHTS`: ``"course-backbone"``, the residual CNN of the
course's detectors pretrained on crops of every toy object) are asked for the same way, with the
model's builder: ``available("course-backbone")``, then
``load_pretrained(BackboneClassifier, weights="course-backbone")``. They are made on this
machine, not downloaded (``cvlearn.recipes.pretrain`` trains them in about a minute), and
cached like a dataset: in the data folder's ``weights/NAME/``, written atomically beside a
manifest with their sha256, which every load checks.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision.models import WeightsEnum, get_model_builder, get_model_weights, get_weight

from . import system
from .data.cache import atomic_write, default_root, display_path, readable_roots, sha256

NETWORK_TIMEOUT = 0.5
"""Seconds :func:`available` waits for the weights' server before calling it unreachable."""


@dataclass(frozen=True)
class WeightsStatus:
    """Whether one weight file can be used here; true when it is cached or downloadable.

    ``file`` is where torchvision keeps it; ``size_mb`` its size in MiB (from torchvision's
    metadata, ``None`` when unknown).
    """

    weights: str
    url: str
    file: Path
    size_mb: float | None
    cached: bool
    downloadable: bool

    def __bool__(self) -> bool:
        return self.cached or self.downloadable

    @property
    def size(self) -> str:
        return "size unknown" if self.size_mb is None else f"{self.size_mb:.0f} MB"

    @property
    def message(self) -> str:
        """One line: what the weights are, and what happens (or what to do) next."""
        folder = _short(self.file.parent)
        if self.cached:
            return f"✓ pretrained weights {self.weights} ({self.size}) are in the torch cache: {_short(self.file)}"
        if self.downloadable:
            return f"✓ pretrained weights {self.weights} ({self.size}) will download on first use into {folder}"
        return (
            f"✗ pretrained weights {self.weights} ({self.size}) are not in the torch cache and "
            f"{urlparse(self.url).hostname} cannot be reached, so this step is skipped; to run it, "
            f"connect to the internet once, or download {self.url} by hand into {folder}/"
        )

    def __str__(self) -> str:
        return self.message


def _short(path: Path) -> str:
    """``path`` with the home folder written ``~``: shorter, and no user name in committed notebooks."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def resolve(weights: Any) -> WeightsEnum:
    """The torchvision weights enum member named by ``weights``.

    Args:
        weights: a member (``ResNet18_Weights.DEFAULT``) or its full name as a string
            (``"ResNet18_Weights.DEFAULT"``, ``"MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1"``).
    """
    if isinstance(weights, WeightsEnum):
        return weights
    if not isinstance(weights, str):
        raise TypeError(
            f"weights must be a torchvision weights enum member or its name (str), "
            f"got {type(weights).__name__}: {weights!r}"
        )
    try:
        return get_weight(weights)
    except (ValueError, KeyError):
        raise ValueError(
            f"weights must name torchvision weights as 'EnumName.MEMBER', e.g. "
            f"'ResNet18_Weights.DEFAULT', got {weights!r}"
        ) from None


def cache_file(weights: Any) -> Path:
    """Where torchvision keeps (or will keep) the file of ``weights``: the hub cache's ``checkpoints/``."""
    url = resolve(weights).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def available(
    weights: Any, network: bool = True, timeout: float = NETWORK_TIMEOUT
) -> WeightsStatus | CourseWeightsStatus:
    """Whether ``weights`` are in the torch cache or downloadable; never downloads, never raises offline.

    The cache is a file check; only when the file is missing is the weights' server tried, with
    a connection that gives up after ``timeout`` seconds (``network=False`` skips it).

    Args:
        weights: a torchvision weights enum member or its full name, see :func:`resolve`; or
            the name of the course's own weights (:data:`COURSE_WEIGHTS`), whose status says
            whether they are cached and valid (they are never downloaded).
        network: whether to try the server when the file is not cached.
        timeout: seconds to wait for the server.

    Returns:
        A :class:`WeightsStatus`; true when the weights can be used, ``str()`` gives one line.
    """
    if is_course_weights(weights):
        return course_status(weights)
    member = resolve(weights)
    file = cache_file(member)
    cached = file.is_file() and file.stat().st_size > 0
    downloadable = not cached and network and system.network_reachable(system.url_server(member.url), timeout=timeout)
    return WeightsStatus(
        weights=f"{type(member).__name__}.{member.name}",
        url=member.url,
        file=file,
        size_mb=member.meta.get("_file_size"),
        cached=cached,
        downloadable=downloadable,
    )


@contextlib.contextmanager
def weights_only_loads() -> Iterator[None]:
    """Make every ``torch.load`` inside the block use ``weights_only=True``.

    torchvision's builders load through ``torch.hub.load_state_dict_from_url``, which passes
    ``weights_only=False``; torch's documented ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` switch overrides
    it, so a weight file can only hold tensors, never code.
    """
    saved = {
        key: os.environ.pop(key, None) for key in ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    }
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _builder(model: Any) -> Callable[..., nn.Module]:
    if callable(model):
        return model
    if not isinstance(model, str):
        raise TypeError(
            f"model must be a torchvision model name (str) or builder, got {type(model).__name__}: {model!r}"
        )
    try:
        return get_model_builder(model)
    except ValueError:
        raise ValueError(
            f"model must be a torchvision model name such as 'resnet18' or 'maskrcnn_resnet50_fpn_v2', got {model!r}"
        ) from None


def _weights_arguments(builder: Callable[..., nn.Module], kwargs: dict[str, Any]) -> dict[str, WeightsEnum]:
    """The weights a builder call will load: ``weights`` (which replaces any backbone weights), else
    each ``weights_*`` argument (``weights_backbone``) given or defaulted. Short names such as
    ``"DEFAULT"`` are looked up in the enum of the argument's annotation or default."""
    params = inspect.signature(builder).parameters
    values = {name: kwargs.get(name, p.default) for name, p in params.items() if name.startswith("weights")}
    if values.get("weights") is not None:
        values = {"weights": values["weights"]}
    resolved = {}
    for name, value in values.items():
        if value is None or value is inspect.Parameter.empty:
            continue
        if isinstance(value, str) and "." not in value:
            enum = _enum_of(builder, name)
            if enum is None or value not in enum.__members__:
                raise ValueError(
                    f"{name}={value!r} is not a member of {getattr(enum, '__name__', 'the weights enum')} "
                    f"of {builder.__name__}"
                )
            value = enum[value]
        resolved[name] = resolve(value)
    return resolved


def _enum_of(builder: Callable[..., nn.Module], name: str) -> type[WeightsEnum] | None:
    if name == "weights":
        return get_model_weights(builder)
    default = inspect.signature(builder).parameters[name].default
    return type(default) if isinstance(default, WeightsEnum) else None


def load_pretrained(
    model: Any, weights: Any = "DEFAULT", *, progress: bool = True, timeout: float = NETWORK_TIMEOUT, **kwargs: Any
) -> nn.Module | None:
    """A torchvision model built with its pretrained ``weights=``, or ``None`` and one line why not.

    Args:
        model: a torchvision model name (``"maskrcnn_resnet50_fpn_v2"``, ``"resnet18"``) or builder.
        weights: the weights, a member or name (``"DEFAULT"``, ``"COCO_V1"``,
            ``"ResNet18_Weights.IMAGENET1K_V1"``); ``None`` builds from scratch, though a
            detection model's default ``weights_backbone`` is still checked. For the course's
            own weights (``"course-backbone"``), ``model`` is the builder they were saved from
            (:class:`cvlearn.models.BackboneClassifier`); it gets the arguments in their manifest.
        progress: show torchvision's download progress bar.
        timeout: seconds to wait for the weights' server when the file is not cached.
        **kwargs: passed to the builder (``num_classes``, ``weights_backbone``, ...).

    Returns:
        The model (in training mode, as torchvision builds it), or ``None`` after printing one
        line naming the missing weights, their size and how to get them; a damaged cached file
        is reported the same way. Wrong arguments still raise ValueError/TypeError.
    """
    builder = _builder(model)
    if is_course_weights(weights):
        return _load_course_model(builder, weights, kwargs)
    needed = _weights_arguments(builder, {**kwargs, "weights": weights})
    for status in (available(member, timeout=timeout) for member in needed.values()):
        if not status:
            print(status.message)
            return None
    try:
        with weights_only_loads():
            return builder(**{**kwargs, "weights": weights, **needed}, progress=progress)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
        files = ", ".join(str(cache_file(member)) for member in needed.values())
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(
            f"✗ could not load pretrained weights into {builder.__name__} ({type(err).__name__}: {reason}); "
            f"the file may be damaged or incomplete: delete {files} and run this again with a network"
        )
        return None


# --------------------------------------------------------------------------------------------
# The course's own weights: made here, cached like a dataset
# --------------------------------------------------------------------------------------------

COURSE_WEIGHTS = {
    "course-backbone": (
        "the course's residual CNN (the body of its detectors' TinyFPNBackbone) pretrained on crops "
        "of every toy object",
        "cvlearn.recipes.pretrain.backbone() (notebook 07 calls it) trains and caches them in about a minute",
    ),
}
"""The course's own weights by name: (what they are, how to make them)."""

WEIGHTS_FILE, MANIFEST_FILE = "weights.pt", "manifest.json"


def is_course_weights(weights: Any) -> bool:
    """Whether ``weights`` names the course's own weights (a key of :data:`COURSE_WEIGHTS`)."""
    return isinstance(weights, str) and weights in COURSE_WEIGHTS


def _check_course_name(name: str) -> None:
    if not is_course_weights(name):
        raise ValueError(f"name must be one of the course's weights {sorted(COURSE_WEIGHTS)}, got {name!r}")


def course_weights_folder(name: str, root: str | Path | None = None) -> Path:
    """Where the course's weights ``name`` are written: ``ROOT/weights/NAME/`` (ROOT: the data folder)."""
    _check_course_name(name)
    return Path(root if root is not None else default_root()) / "weights" / name


@dataclass(frozen=True)
class CourseWeightsStatus:
    """Whether the course's weights ``weights`` are cached here and match their manifest.

    ``folder``: where they are (or would be written); ``manifest``: what their manifest says
    (``None`` when there is none); ``problem``: why a cached copy cannot be used, or ``None``.
    True when they can be loaded.
    """

    weights: str
    folder: Path
    manifest: dict[str, Any] | None
    problem: str | None

    @property
    def cached(self) -> bool:
        return self.manifest is not None and self.problem is None

    def __bool__(self) -> bool:
        return self.cached

    @property
    def message(self) -> str:
        """One line: where the weights are and how they were made, or what to do."""
        where = display_path(self.folder)
        if self.cached:
            made = self.manifest or {}
            return (
                f"✓ course weights {self.weights} are cached in {where} "
                f"(trained in {made.get('train_s', 0):.0f} s, {made.get('summary', '')})"
            )
        how = COURSE_WEIGHTS[self.weights][1]
        if self.problem:
            return f"✗ course weights {self.weights} in {where} cannot be used ({self.problem}); {how}"
        return f"✗ course weights {self.weights} are not made yet on this machine; {how}"

    def __str__(self) -> str:
        return self.message


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _status_in(name: str, folder: Path) -> CourseWeightsStatus:
    manifest = _read_manifest(folder)
    if manifest is None:
        return CourseWeightsStatus(name, folder, None, None)
    file = folder / WEIGHTS_FILE
    if not file.is_file():
        return CourseWeightsStatus(name, folder, manifest, f"{WEIGHTS_FILE} is missing")
    if sha256(file) != manifest.get("sha256"):
        return CourseWeightsStatus(name, folder, manifest, f"{WEIGHTS_FILE} does not match its manifest's sha256")
    return CourseWeightsStatus(name, folder, manifest, None)


def course_status(name: str, root: str | Path | None = None) -> CourseWeightsStatus:
    """The status of the course's weights ``name``: the first valid copy in the data folders
    (:func:`cvlearn.data.cache.readable_roots`, or ``root``), else why there is none."""
    _check_course_name(name)
    roots = [Path(root)] if root is not None else readable_roots()
    statuses = [_status_in(name, course_weights_folder(name, r)) for r in roots]
    return next((s for s in statuses if s), next((s for s in statuses if s.manifest), statuses[0]))


def save_course_weights(
    name: str, state: dict[str, torch.Tensor], manifest: dict[str, Any], root: str | Path | None = None
) -> Path:
    """Cache ``state`` (a state dict) as the course's weights ``name``; returns their folder.

    The weights are written first, then the manifest (``manifest`` plus their sha256), each
    atomically: an interrupted save leaves no manifest that matches, so the next load reports
    it and the weights are made again. ``manifest`` must hold JSON values.
    """
    folder = course_weights_folder(name, root)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(folder / WEIGHTS_FILE, lambda f: f.write(buffer.getvalue()))
    entry = {**manifest, "name": name, "sha256": sha256(folder / WEIGHTS_FILE)}
    atomic_write(folder / MANIFEST_FILE, lambda f: f.write(json.dumps(entry, indent=1)), mode="w")
    return folder


def load_course_weights(name: str, root: str | Path | None = None) -> tuple[dict[str, torch.Tensor], dict] | None:
    """The cached course weights ``name`` as ``(state dict, manifest)``, read with
    ``weights_only=True`` after their checksum is checked; ``None`` after one line saying what is
    missing (or wrong) and how to make them."""
    status = course_status(name, root)
    if not status:
        print(status.message)
        return None
    state = torch.load(status.folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    return state, status.manifest or {}


def _load_course_model(builder: Callable[..., nn.Module], name: str, kwargs: dict[str, Any]) -> nn.Module | None:
    """``builder(**manifest["build"], **kwargs)`` with the cached course weights ``name`` loaded."""
    loaded = load_course_weights(name)
    if loaded is None:
        return None
    state, manifest = loaded
    model = builder(**{**manifest.get("build", {}), **kwargs})
    model.load_state_dict(state)
    return model
