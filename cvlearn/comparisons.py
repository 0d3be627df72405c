"""The benchmark's comparison baselines: each measures the course's way against a reference.

Every function returns a list of records ``{"comparison", "ours", "baseline", "ratio", "note"}``
(``ratio`` = ours / baseline for speeds, baseline / ours for times: above 1 is better for us),
and an empty list when what it needs is missing.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from . import toyworld


def _samples_per_s(name: str, size: int, samples: int) -> float:
    toyworld.generate(name, "train", 0, size=size)
    start = time.perf_counter()
    for i in range(samples):
        toyworld.generate(name, "train", i, size=size)
    return samples / (time.perf_counter() - start)


def render_vs_training(recipes: Sequence[dict[str, Any]], renders: Sequence[dict[str, Any]] = (),
                       samples: int = 200) -> list[dict[str, Any]]:
    """The renderer's samples per second (one core, the dataset's own size) vs training's images per second.

    A ratio above 1 means the renderer alone could feed training live; the course renders once
    and caches anyway, so this is the margin, not a requirement.
    """
    records = []
    for r in recipes:
        dataset = r.get("dataset")
        if not dataset or dataset not in toyworld.SPECS or not r.get("images_per_s"):
            continue
        render = _samples_per_s(dataset, toyworld.SPECS[dataset].size, samples)
        records.append({"comparison": f"render vs train ({r['recipe']}, {dataset})",
                        "ours": round(render, 1), "baseline": r["images_per_s"],
                        "ratio": round(render / r["images_per_s"], 2),
                        "note": "samples/s rendered on one core vs images/s trained"})
    return records
