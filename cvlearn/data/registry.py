"""The dataset registry: every dataset, toy or real, is one spec, known by its name.

A spec (a :class:`~cvlearn.toyworld.DatasetSpec`) holds a dataset's name, kind, classes,
palette and default export format; a toy spec (:class:`~cvlearn.toyworld.ToySpec`) adds what the
toy world draws and its split sizes, a real one (:class:`cvlearn.data.real.RealSpec`) its
download source and reader. :func:`register` makes a spec a dataset that ``cvlearn.data.load``,
the ``cvlearn data`` command, ``cvlearn doctor`` and the tables of ``datasets/README.md`` know::

    from cvlearn.data import registry
    registry.register(ToySpec("toy-shapes", ...))
    cvlearn.data.load("toy-shapes", "train")

Toy specs are kept in :data:`cvlearn.toyworld.SPECS`, where the renderer looks them up by name;
real ones here. Nothing else lists dataset names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..toyworld import SPECS as TOY_SPECS
from ..toyworld import DatasetSpec, ToySpec

__all__ = ["KINDS", "REAL_SPECS", "View", "get", "names", "real_spec", "register", "specs", "toy_spec", "unregister"]

KINDS = ("toy", "real")
"""The kinds of dataset: drawn on this machine, or downloaded."""

REAL_SPECS: dict[str, DatasetSpec] = {}
"""The real datasets' specs, by name (the toy ones are :data:`cvlearn.toyworld.SPECS`). Add to
it with :func:`register`; a test may swap an entry for a while with ``monkeypatch.setitem``."""

_STORES: dict[str, dict[str, Any]] = {"toy": TOY_SPECS, "real": REAL_SPECS}


def register(spec: DatasetSpec, replace: bool = False) -> DatasetSpec:
    """Add ``spec`` to the registry under ``spec.name`` and return it.

    Raises ValueError if the name is taken, unless ``replace`` (a test's smaller copy of a
    dataset, say); TypeError for anything but a toy or real spec.
    """
    if not isinstance(spec, DatasetSpec) or spec.kind not in KINDS:
        raise TypeError(f"spec must be a ToySpec or RealSpec, got {type(spec).__name__}: {spec!r}")
    if spec.name in names() and not replace:
        raise ValueError(
            f"a dataset named {spec.name!r} is registered already; pick another name, or pass replace=True"
        )
    unregister(spec.name)
    _STORES[spec.kind][spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Forget the dataset ``name`` (nothing happens if there is none)."""
    for store in _STORES.values():
        store.pop(name, None)


def names(kind: str | None = None) -> list[str]:
    """The registered dataset names, sorted: all of them, or those of one kind ("toy" or "real")."""
    return sorted(spec.name for spec in specs(kind))


def specs(kind: str | None = None) -> list[DatasetSpec]:
    """The registered specs, toy ones first, each kind in the order it was registered."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    return [spec for k in KINDS if kind in (None, k) for spec in _STORES[k].values()]


def _check_str(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a dataset name (str), got {type(name).__name__}: {name!r}")
    return name


def get(name: Any) -> DatasetSpec:
    """The spec of dataset ``name``, toy or real, or a ValueError that lists the names there are."""
    name = _check_str(name)
    for store in _STORES.values():
        if name in store:
            return store[name]
    raise ValueError(f"unknown dataset name {name!r}; expected one of {names('toy')} (toy) or {names('real')} (real)")


def toy_spec(name: Any) -> ToySpec:
    """The spec of a toy dataset; a real one's name gets a ValueError saying how real data is had."""
    spec = get(name)
    if not isinstance(spec, ToySpec):
        raise ValueError(
            f"{name} is a real dataset: `cvlearn data download {name}` fetches it and "
            f"cvlearn.data.load({name!r}, split) reads it; rendering, caching and "
            f"verifying are for the toy datasets {names('toy')}"
        )
    return spec


def real_spec(name: Any) -> Any:
    """The spec of a real dataset (a ``RealSpec``); a toy one's name gets a ValueError saying it
    is drawn, not downloaded."""
    name = _check_str(name)
    if name in REAL_SPECS:
        return REAL_SPECS[name]
    if name in TOY_SPECS:
        raise ValueError(
            f"{name} is a toy dataset: it is drawn on this machine, never downloaded "
            f"(`cvlearn data build {name}`); real ones are {names('real')}"
        )
    raise ValueError(f"unknown real dataset name {name!r}; expected one of {names('real')}")


class View(Mapping[str, Any]):
    """A live, read-only ``{name: pick(spec)}`` over the registered datasets of one kind.

    It keeps the shape of the per-purpose dicts the registry replaced (``SOURCES``, ``READERS``):
    reading one always reflects the registry as it is now.
    """

    def __init__(self, kind: str, pick: Callable[[Any], Any] = lambda spec: spec) -> None:
        self.kind, self.pick = kind, pick

    def __getitem__(self, name: str) -> Any:
        if name not in _STORES[self.kind]:
            raise KeyError(name)
        return self.pick(_STORES[self.kind][name])

    def __iter__(self) -> Iterator[str]:
        return iter(list(_STORES[self.kind]))

    def __len__(self) -> int:
        return len(_STORES[self.kind])

    def __repr__(self) -> str:
        return f"View({self.kind!r}, {sorted(self)})"
