"""Stand-in Penn-Fudan: 170 street photos with 1 to 4 pedestrians each, in ``PennFudanPed/``'s layout.

As in the real download: ``PNGImages/FudanPed00001.png`` ... ``FudanPed00074.png`` and
``PennPed00001.png`` ... ``PennPed00096.png`` (PNG photos of varied, non-square sizes);
``PedMasks/NAME_mask.png`` with 0 for background and k for pedestrian k; ``Annotation/NAME.txt``
in the PASCAL 1.00 text format with 1-based inclusive boxes. Each pedestrian is an upright figure
of its own size and clothes, in front of a street of buildings, sky, pavement and unlabelled
clutter; now and then a bin or post stands in front of someone, as in the real photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cvlearn.realdata import voc_palette
from tests.fakedata import _png

from .photo import (
    Canvas,
    PixelBox,
    Texture,
    clutter,
    jitter,
    person,
    person_colours,
    photo_size,
    pick,
    save_photo,
    shade,
    visible_box,
    voc_box,
)

NAME = "penn-fudan"
FUDAN, PENN = 74, 96
"""Photos from Fudan University and from the University of Pennsylvania, as in the real set."""

PEDESTRIANS = (1, 2, 3, 4)
CHANCES = (0.35, 0.35, 0.2, 0.1)
"""How many pedestrians a photo shows: about 2 on average, as the real 345 in 170 photos."""

SKIES = [(180, 200, 225), (210, 215, 220), (150, 180, 220), (230, 225, 210)]
FACADES = [(170, 150, 130), (140, 140, 145), (190, 180, 160), (120, 90, 80), (200, 195, 185), (110, 120, 130)]
GROUNDS = [(130, 130, 128), (110, 105, 100), (150, 145, 135), (95, 95, 100)]


def names() -> list[str]:
    """The 170 photo names of the real set, in its order."""
    return [f"FudanPed{i:05d}" for i in range(1, FUDAN + 1)] + [f"PennPed{i:05d}" for i in range(1, PENN + 1)]


def _building(canvas: Canvas, rng: np.random.Generator, left: float, width: float, ground: int) -> None:
    """A facade from a random height down to the ground, with a grid of windows."""
    top = canvas.height * rng.uniform(0.0, 0.3)
    facade = jitter(rng, pick(rng, FACADES), 14)
    canvas.rectangle((left, top, left + width, ground), facade)
    glass = shade(facade, 0.45)
    step_x, step_y = width / int(rng.integers(2, 6)), canvas.height * rng.uniform(0.08, 0.14)
    for y in np.arange(top + 0.3 * step_y, ground - step_y, step_y):
        for x in np.arange(left + 0.25 * step_x, left + width - 0.5 * step_x, step_x):
            canvas.rectangle((x, y, x + 0.5 * step_x, y + 0.6 * step_y), glass)


def _street(canvas: Canvas, rng: np.random.Generator) -> None:
    """Sky, a row of buildings, a pavement with a kerb, posts and clutter (all background)."""
    w, h = canvas.width, canvas.height
    ground = int(h * rng.uniform(0.5, 0.72))
    canvas.rectangle((0, 0, w, ground), jitter(rng, pick(rng, SKIES), 10))
    left = -w * rng.uniform(0.0, 0.2)
    while left < w:
        width = w * rng.uniform(0.2, 0.45)
        _building(canvas, rng, left, width, ground)
        left += width + w * rng.uniform(0.0, 0.08)
    pavement = jitter(rng, pick(rng, GROUNDS), 10)
    canvas.rectangle((0, ground, w, h), pavement)
    canvas.rectangle((0, ground, w, ground + h * 0.015), shade(pavement, 0.7))
    for _ in range(int(rng.integers(0, 3))):
        x = rng.uniform(0, w)
        canvas.rectangle((x, h * rng.uniform(0.1, 0.4), x + w * 0.012, ground + h * 0.05), (60, 62, 66))
    clutter(canvas, rng, int(rng.integers(3, 8)), scale=(0.03, 0.12))


def _overlap(a: PixelBox, b: PixelBox) -> float:
    """How far two boxes overlap side by side, as a fraction of the narrower one's width."""
    shared = min(a[2], b[2]) - max(a[0], b[0])
    return max(0.0, shared) / min(a[2] - a[0], b[2] - b[0])


def _place(rng: np.random.Generator, h: int, w: int, count: int) -> list[PixelBox]:
    """Up to ``count`` pedestrian boxes that overlap side by side by at most 30 %, far ones first.

    Each is 40 to 92 % of the photo's height and may be cut by the left or right edge a little.
    """
    boxes: list[PixelBox] = []
    for _ in range(count):
        for _attempt in range(30):
            height = h * rng.uniform(0.4, 0.92)
            width = height * rng.uniform(0.36, 0.46)
            bottom = h * rng.uniform(max(0.6, height / h + 0.01), 0.995)
            left = rng.uniform(-0.15 * width, w - 0.85 * width)
            box = (left, bottom - height, left + width, bottom)
            if all(_overlap(box, other) <= 0.3 for other in boxes):
                boxes.append(box)
                break
    return sorted(boxes, key=lambda box: box[3])


def _obstacle(canvas: Canvas, rng: np.random.Generator, near: PixelBox) -> None:
    """A bin or post in front of the lower part of pedestrian box ``near``, unlabelled."""
    height = (near[3] - near[1]) * rng.uniform(0.1, 0.2)
    width = height * rng.uniform(0.5, 1.2)
    x = rng.uniform(near[0] - 0.5 * width, near[2] - 0.5 * width)
    bottom = min(canvas.height, near[3] + height * rng.uniform(0.0, 0.3))
    canvas.rectangle((x, bottom - height, x + width, bottom), jitter(rng, (70, 90, 75), 25))


def _annotation(stem: str, h: int, w: int, boxes: list[tuple[int, int, int, int]]) -> str:
    """``Annotation/NAME.txt`` in the PASCAL Annotation 1.00 format of the real files."""
    label = '"PASpersonWalking"'
    lines = [
        "# Compatible with PASCAL Annotation Version 1.00",
        f'Image filename : "PennFudanPed/PNGImages/{stem}.png"',
        f"Image size (X x Y x C) : {w} x {h} x 3",
        'Database : "The Penn-Fudan-Pedestrian Database"',
        f"Objects with ground truth : {len(boxes)} {{ {' '.join([label] * len(boxes))} }}",
        "# Note there may be some objects not included in the ground truth list for they are severe-occluded",
        "# or have very small size.",
        "# Top left pixel co-ordinates : (1, 1)",
    ]
    for k, (x1, y1, x2, y2) in enumerate(boxes, start=1):
        lines += [
            f"# Details for pedestrian {k} ({label})",
            f'Original label for object {k} {label} : "PennFudanPed"',
            f"Bounding box for object {k} {label} (Xmin, Ymin) - (Xmax, Ymax) : ({x1}, {y1}) - ({x2}, {y2})",
            f'Pixel mask for object {k} {label} : "PennFudanPed/PedMasks/{stem}_mask.png"',
            "",
        ]
    return "\n".join(lines) + "\n"


def _photo(rng: np.random.Generator, texture: Texture) -> tuple[np.ndarray, np.ndarray, int]:
    """One street photo: (H, W, 3) uint8 pixels, (H, W) uint8 pedestrian ids (0 background, 1 to
    N the pedestrians) and N."""
    h, w = photo_size(rng, long_side=(300, 520), ratio=(0.62, 0.88), portrait=0.45)
    canvas = Canvas(h, w, (0, 0, 0))
    _street(canvas, rng)
    boxes = _place(rng, h, w, int(rng.choice(PEDESTRIANS, p=CHANCES)))
    for ident, box in enumerate(boxes, start=1):
        canvas.draw(person(rng.uniform(0.0, 0.18)), box, person_colours(rng), ident, flip=bool(rng.random() < 0.5))
    if rng.random() < 0.25:
        _obstacle(canvas, rng, boxes[-1])
    rgb, ids = canvas.layers()
    return texture.apply(rng, rgb), ids, len(boxes)


def write(root: Path, seed: int = 0) -> Path:
    """Write the stand-in under ``root/penn-fudan/PennFudanPed/``; returns ``root/penn-fudan``."""
    base = Path(root) / NAME
    folder = base / "PennFudanPed"
    rng = np.random.default_rng([seed, 2])
    texture = Texture(rng)
    palette = voc_palette(256)
    (folder / "Annotation").mkdir(parents=True, exist_ok=True)
    for stem in names():
        pixels, ids, count = _photo(rng, texture)
        boxes = [visible_box(ids, k) for k in range(1, count + 1)]
        if any(box is None for box in boxes):
            raise RuntimeError(f"a pedestrian of {stem} is hidden completely; the placement rules need a look")
        save_photo(folder / "PNGImages" / f"{stem}.png", pixels)
        _png(folder / "PedMasks" / f"{stem}_mask.png", ids, palette)
        (folder / "Annotation" / f"{stem}.txt").write_text(
            _annotation(stem, *ids.shape, [voc_box(box) for box in boxes]), encoding="utf-8"
        )
    (folder / "readme.txt").write_text(
        "A stand-in for the Penn-Fudan Database for Pedestrian Detection and "
        "Segmentation, drawn by cvlearn's tests/standins/penn_fudan.py.\n",
        encoding="utf-8",
    )
    return base
