"""Stand-in copies of the real datasets, in their real on-disk layouts, for whole-notebook runs.

``tests/fakedata.py`` writes a dozen flat-coloured files to check each adapter field by field.
These write what a learner's download looks like instead: hundreds of photos of varied,
non-square sizes with real-looking content and every quirk of the real annotations, so that a
notebook run with ``DATA`` switched to a real dataset meets what it would meet on the real one.

``write(name, root)`` writes ``root/NAME/...`` such that ``cvlearn.download.is_complete(NAME,
root)`` holds, and returns that folder. Same seed, same bytes.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

MODULES = {"oxford-pets": "oxford_pets", "penn-fudan": "penn_fudan", "voc2012": "voc2012"}


def write(name: str, root: Path, seed: int = 0) -> Path:
    """Write the stand-in of real dataset ``name`` under ``root``; returns ``root / name``."""
    if name not in MODULES:
        raise ValueError(f"name must be one of {sorted(MODULES)}, got {name!r}")
    module = import_module(f"{__name__}.{MODULES[name]}")
    return module.write(Path(root), seed=seed)
