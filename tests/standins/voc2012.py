"""Stand-in Pascal VOC 2012: 450 segmented photos of VOC's 20 classes, in ``VOCdevkit/VOC2012/``'s layout.

As in the real download: ``JPEGImages/YYYY_NNNNNN.jpg`` (at most 500 pixels a side, never
square); ``Annotations/NAME.xml`` with every object's class, ``difficult`` flag and box (pixels
counted from 1, inclusive); ``SegmentationClass/NAME.png`` and ``SegmentationObject/NAME.png``,
palette PNGs with a 255 (void) band along every outline; ``ImageSets/Segmentation/{train, val,
trainval}.txt`` (300 and 150 names); and ``ImageSets/Main/`` with the detection lists, which
also name photos that have boxes but no masks (as the real ones do), and the per-class lists
``CLASS_{train, val, trainval}.txt`` (1 present, 0 only difficult, -1 absent).

Every class has its own shape and colours (a bus is a long box with a row of windows and two
wheels, a pottedplant green leaves over a pot, ...), drawn 1 to 5 at a time, at varied sizes,
overlapping and cut by the edges, on skies, walls, fields and floors with unlabelled clutter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cvlearn.realdata import VOC_CLASSES, VOID, voc_palette
from tests.fakedata import _png, _voc_xml

from .photo import (
    Canvas,
    Colour,
    Part,
    PixelBox,
    Texture,
    animal,
    animal_colours,
    backdrop,
    clutter,
    jitter,
    outline,
    person,
    person_colours,
    photo_size,
    pick,
    save_photo,
    shade,
    visible_box,
    voc_box,
)

NAME = "voc2012"
SEGMENTED = {"train": 300, "val": 150}
"""Photos with masks in each segmentation list (the real lists have 1,464 and 1,449)."""
BOXES_ONLY = {"train": 25, "val": 15}
"""Photos in the detection lists only: boxes, no masks."""

OBJECTS = (1, 2, 3, 4, 5)
CHANCES = (0.3, 0.3, 0.2, 0.12, 0.08)


def _box_parts(u0: float, v0: float, u1: float, v1: float, colour: str) -> Part:
    """A rectangle as a polygon part."""
    return Part("poly", ((u0, v0), (u1, v0), (u1, v1), (u0, v1)), colour)


def _wheels(v: float, ru: float, rv: float, us: tuple[float, ...] = (0.2, 0.8)) -> list[Part]:
    """Tyres with grey hubs at ``us`` along row ``v``."""
    return [
        p
        for u in us
        for p in (Part("ellipse", (u, v, ru, rv), "tyre"), Part("ellipse", (u, v, ru * 0.45, rv * 0.45), "hub"))
    ]


def _windows(v0: float, v1: float, u0: float, u1: float, step: float, width: float) -> list[Part]:
    """A row of windows from ``u0`` to ``u1``."""
    return [_box_parts(u, v0, u + width, v1, "glass") for u in np.arange(u0, u1, step)]


AEROPLANE = [
    Part("poly", ((0.42, 0.5), (0.55, 0.5), (0.48, 0.25), (0.42, 0.25)), "dark"),
    Part("ellipse", (0.5, 0.55, 0.48, 0.12), "main"),
    Part("poly", ((0.03, 0.55), (0.13, 0.5), (0.1, 0.08), (0.02, 0.08)), "second"),
    Part("poly", ((0.38, 0.58), (0.58, 0.58), (0.45, 0.98), (0.36, 0.98)), "dark"),
    Part("line", ((0.3, 0.5), (0.82, 0.5)), "tyre", 0.012),
    Part("ellipse", (0.9, 0.5, 0.04, 0.05), "glass"),
]
BICYCLE = [
    Part("ring", (0.22, 0.7, 0.2, 0.29), "tyre", 0.03),
    Part("ring", (0.78, 0.7, 0.2, 0.29), "tyre", 0.03),
    Part("line", ((0.22, 0.7), (0.45, 0.7), (0.68, 0.35), (0.35, 0.35), (0.22, 0.7)), "main", 0.025),
    Part("line", ((0.45, 0.7), (0.34, 0.24)), "main", 0.025),
    Part("line", ((0.68, 0.35), (0.78, 0.7)), "main", 0.025),
    Part("line", ((0.68, 0.35), (0.66, 0.18), (0.74, 0.18)), "tyre", 0.02),
    Part("ellipse", (0.34, 0.22, 0.07, 0.03), "tyre"),
]
BIRD = [
    Part("poly", ((0.0, 0.45), (0.25, 0.5), (0.25, 0.62), (0.02, 0.7)), "dark"),
    Part("line", ((0.45, 0.72), (0.43, 1.0)), "beak", 0.02),
    Part("line", ((0.55, 0.72), (0.57, 1.0)), "beak", 0.02),
    Part("ellipse", (0.45, 0.55, 0.3, 0.22), "main"),
    Part("ellipse", (0.4, 0.5, 0.2, 0.12), "dark"),
    Part("ellipse", (0.78, 0.33, 0.14, 0.16), "main"),
    Part("poly", ((0.9, 0.28), (1.0, 0.35), (0.9, 0.4)), "beak"),
    Part("ellipse", (0.82, 0.29, 0.02, 0.025), (15, 15, 15)),
]
BOAT = [
    Part("line", ((0.48, 0.02), (0.48, 0.62)), "tyre", 0.015),
    Part("poly", ((0.5, 0.04), (0.5, 0.6), (0.86, 0.6)), "white"),
    Part("poly", ((0.46, 0.1), (0.46, 0.6), (0.2, 0.6)), "light"),
    Part("poly", ((0.0, 0.62), (1.0, 0.62), (0.86, 0.95), (0.12, 0.95)), "main"),
    Part("line", ((0.05, 0.7), (0.95, 0.7)), "white", 0.02),
]
BOTTLE = [
    _box_parts(0.08, 0.38, 0.92, 1.0, "main"),
    Part("ellipse", (0.5, 0.38, 0.42, 0.1), "main"),
    _box_parts(0.36, 0.05, 0.64, 0.36, "main"),
    _box_parts(0.33, 0.0, 0.67, 0.07, "second"),
    _box_parts(0.08, 0.55, 0.92, 0.8, "light"),
]
BUS = [
    Part("poly", ((0.0, 0.05), (0.97, 0.05), (1.0, 0.15), (1.0, 0.85), (0.0, 0.85)), "main"),
    *_windows(0.15, 0.45, 0.04, 0.88, 0.12, 0.09),
    Part("poly", ((0.93, 0.12), (0.99, 0.18), (0.99, 0.5), (0.93, 0.5)), "glass"),
    _box_parts(0.0, 0.55, 1.0, 0.6, "second"),
    *_wheels(0.85, 0.07, 0.14),
]
CAR = [
    Part("poly", ((0.22, 0.46), (0.34, 0.1), (0.7, 0.1), (0.84, 0.46)), "main"),
    Part("poly", ((0.28, 0.44), (0.37, 0.16), (0.5, 0.16), (0.5, 0.44)), "glass"),
    Part("poly", ((0.53, 0.44), (0.53, 0.16), (0.68, 0.16), (0.78, 0.44)), "glass"),
    _box_parts(0.0, 0.45, 1.0, 0.82, "main"),
    Part("ellipse", (0.97, 0.55, 0.025, 0.05), "lamp"),
    _box_parts(0.0, 0.62, 1.0, 0.66, "dark"),
    *_wheels(0.82, 0.1, 0.18, (0.22, 0.78)),
]
CHAIR = [
    _box_parts(0.3, 0.6, 0.35, 0.92, "dark"),
    _box_parts(0.65, 0.6, 0.7, 0.92, "dark"),
    _box_parts(0.12, 0.0, 0.32, 0.55, "main"),
    Part("poly", ((0.1, 0.5), (0.9, 0.5), (0.95, 0.62), (0.05, 0.62)), "light"),
    _box_parts(0.08, 0.62, 0.15, 1.0, "main"),
    _box_parts(0.85, 0.62, 0.92, 1.0, "main"),
]
TABLE = [
    *[_box_parts(u, 0.3, u + 0.04, 1.0, "dark") for u in (0.2, 0.76)],
    *[_box_parts(u, 0.35, u + 0.045, 1.0, "main") for u in (0.06, 0.895)],
    Part("poly", ((0.08, 0.05), (0.92, 0.05), (1.0, 0.3), (0.0, 0.3)), "main"),
    _box_parts(0.0, 0.3, 1.0, 0.38, "dark"),
    Part("ellipse", (0.4, 0.16, 0.1, 0.05), "white"),
]
MOTORBIKE = [
    *_wheels(0.72, 0.18, 0.28),
    Part("line", ((0.3, 0.6), (0.04, 0.54)), "hub", 0.03),
    Part("poly", ((0.25, 0.45), (0.45, 0.3), (0.75, 0.3), (0.85, 0.55), (0.55, 0.65), (0.3, 0.6)), "main"),
    Part("ellipse", (0.55, 0.33, 0.12, 0.09), "light"),
    Part("poly", ((0.26, 0.3), (0.5, 0.27), (0.5, 0.34), (0.26, 0.37)), "tyre"),
    Part("line", ((0.72, 0.3), (0.8, 0.05), (0.88, 0.05)), "tyre", 0.02),
]
PLANT = [
    Part("poly", ((0.22, 0.6), (0.78, 0.6), (0.7, 1.0), (0.3, 1.0)), "second"),
    _box_parts(0.18, 0.58, 0.82, 0.66, "pot rim"),
    *[
        Part("ellipse", geometry, key)
        for geometry, key in (
            ((0.5, 0.36, 0.34, 0.26), "main"),
            ((0.28, 0.3, 0.2, 0.2), "dark"),
            ((0.72, 0.28, 0.2, 0.2), "dark"),
            ((0.5, 0.12, 0.17, 0.12), "light"),
            ((0.24, 0.5, 0.16, 0.1), "light"),
            ((0.76, 0.5, 0.16, 0.1), "main"),
        )
    ],
]
SOFA = [
    _box_parts(0.05, 0.05, 0.95, 0.55, "main"),
    _box_parts(0.05, 0.5, 0.95, 0.85, "light"),
    Part("ellipse", (0.32, 0.33, 0.15, 0.16), "light"),
    Part("ellipse", (0.68, 0.33, 0.15, 0.16), "light"),
    _box_parts(0.0, 0.3, 0.14, 0.9, "dark"),
    _box_parts(0.86, 0.3, 1.0, 0.9, "dark"),
    _box_parts(0.05, 0.9, 0.1, 1.0, "tyre"),
    _box_parts(0.9, 0.9, 0.95, 1.0, "tyre"),
]
TRAIN = [
    Part("poly", ((0.0, 0.1), (0.88, 0.1), (1.0, 0.35), (1.0, 0.85), (0.0, 0.85)), "main"),
    *_windows(0.2, 0.42, 0.03, 0.8, 0.07, 0.045),
    Part("poly", ((0.9, 0.18), (0.97, 0.35), (0.9, 0.42)), "glass"),
    _box_parts(0.0, 0.55, 1.0, 0.62, "second"),
    _box_parts(0.02, 0.85, 0.98, 0.97, "tyre"),
]
TVMONITOR = [
    Part("poly", ((0.42, 0.85), (0.58, 0.85), (0.62, 1.0), (0.38, 1.0)), "dark"),
    _box_parts(0.0, 0.0, 1.0, 0.86, "main"),
    _box_parts(0.06, 0.07, 0.94, 0.79, "screen"),
    Part("poly", ((0.1, 0.1), (0.4, 0.1), (0.1, 0.4)), "glare"),
]


class Look(NamedTuple):
    """How one class is drawn: its parts, its box's width over height, and its colours."""

    parts: Callable[[np.random.Generator], list[Part]]
    aspect: tuple[float, float]
    colours: Callable[[np.random.Generator], dict[str, Colour]]


FIXED = {
    "tyre": (25, 25, 28),
    "hub": (150, 150, 155),
    "glass": (160, 195, 215),
    "white": (240, 238, 230),
    "beak": (235, 160, 40),
    "lamp": (250, 240, 180),
    "glare": (200, 225, 240),
}
"""Colours that do not change from one object to the next (tyres are black, glass pale blue)."""


def _paint(mains: list[Colour], seconds: list[Colour] | None = None) -> Callable[[np.random.Generator], dict]:
    """A colour picker: a main colour from ``mains`` with its darker and lighter shades, a second
    colour from ``seconds`` (or the main one, darker), and :data:`FIXED`."""

    def colours(rng: np.random.Generator) -> dict[str, Colour]:
        main = jitter(rng, pick(rng, mains), 14)
        second = jitter(rng, pick(rng, seconds), 10) if seconds else shade(main, 0.6)
        return {
            **FIXED,
            "main": main,
            "dark": shade(main, 0.6),
            "light": shade(main, 1.35),
            "second": second,
            "pot rim": shade(second, 0.8),
            "screen": jitter(rng, pick(rng, [(50, 110, 190), (90, 170, 220), (30, 40, 60)]), 10),
        }

    return colours


def _fixed(parts: list[Part]) -> Callable[[np.random.Generator], list[Part]]:
    """A class drawn with the same parts every time (its size, flip and colours still vary)."""
    return lambda rng: parts


def _animal(
    kind: str, girth: tuple[float, float], legs: tuple[float, float], pattern: str = "plain"
) -> Callable[[np.random.Generator], list[Part]]:
    """An animal of :func:`.photo.animal` with a body ``girth`` and ``legs`` drawn from their ranges."""
    return lambda rng: animal(kind, rng.uniform(*girth), rng.uniform(*legs), pattern, rng)


def _coats(coats: list[Colour], seconds: list[Colour] | None = None) -> Callable[[np.random.Generator], dict]:
    """An animal's colour picker: one of ``coats``, with markings of one of ``seconds``."""
    return lambda rng: animal_colours(rng, pick(rng, coats), pick(rng, seconds) if seconds else None)


LOOKS: dict[str, Look] = {
    "aeroplane": Look(
        _fixed(AEROPLANE),
        (1.8, 2.4),
        _paint([(225, 228, 232), (190, 195, 200), (240, 240, 240)], [(200, 40, 40), (30, 60, 150)]),
    ),
    "bicycle": Look(_fixed(BICYCLE), (1.5, 1.8), _paint([(200, 30, 30), (30, 90, 200), (40, 40, 40), (230, 200, 40)])),
    "bird": Look(_fixed(BIRD), (1.2, 1.5), _paint([(60, 90, 180), (190, 50, 40), (130, 95, 60), (230, 200, 50)])),
    "boat": Look(_fixed(BOAT), (1.4, 2.0), _paint([(240, 240, 235), (30, 50, 110), (180, 40, 40)])),
    "bottle": Look(
        _fixed(BOTTLE),
        (0.3, 0.4),
        _paint([(40, 120, 60), (110, 70, 30), (150, 190, 200)], [(200, 170, 40), (230, 230, 230)]),
    ),
    "bus": Look(
        _fixed(BUS),
        (2.0, 2.6),
        _paint([(235, 190, 30), (200, 40, 35), (240, 240, 235), (40, 90, 170)], [(40, 40, 40), (230, 230, 230)]),
    ),
    "car": Look(
        _fixed(CAR),
        (1.8, 2.4),
        _paint([(190, 30, 30), (30, 60, 140), (30, 30, 32), (190, 192, 196), (235, 235, 232), (40, 110, 60)]),
    ),
    "cat": Look(
        _animal("cat", (0.16, 0.21), (0.55, 0.6)),
        (1.3, 1.5),
        _coats([(176, 110, 62), (32, 30, 32), (130, 135, 145), (236, 228, 214)]),
    ),
    "chair": Look(_fixed(CHAIR), (0.6, 0.8), _paint([(120, 80, 45), (160, 110, 60), (35, 35, 35), (230, 230, 225)])),
    "cow": Look(
        _animal("cow", (0.21, 0.25), (0.55, 0.62), "patch"),
        (1.4, 1.6),
        _coats([(240, 238, 230), (120, 70, 40)], [(25, 25, 25), (240, 238, 230)]),
    ),
    "diningtable": Look(_fixed(TABLE), (1.8, 2.6), _paint([(150, 100, 55), (110, 70, 40), (240, 238, 232)])),
    "dog": Look(
        _animal("dog", (0.16, 0.22), (0.5, 0.6)),
        (1.3, 1.5),
        _coats([(175, 115, 60), (28, 26, 26), (236, 230, 222), (215, 175, 120)]),
    ),
    "horse": Look(
        _animal("horse", (0.15, 0.18), (0.45, 0.5)),
        (1.2, 1.4),
        _coats([(120, 70, 35), (70, 45, 30), (30, 28, 28), (200, 195, 190)]),
    ),
    "motorbike": Look(
        _fixed(MOTORBIKE), (1.4, 1.8), _paint([(200, 30, 30), (30, 30, 30), (30, 70, 170), (240, 130, 20)])
    ),
    "person": Look(lambda rng: person(rng.uniform(0.0, 0.18)), (0.36, 0.46), person_colours),
    "pottedplant": Look(
        _fixed(PLANT),
        (0.7, 0.9),
        _paint([(60, 140, 50), (40, 110, 40), (90, 160, 60)], [(190, 95, 60), (235, 235, 230), (60, 90, 150)]),
    ),
    "sheep": Look(
        _animal("sheep", (0.2, 0.2), (0.58, 0.62)),
        (1.3, 1.5),
        lambda rng: {
            **animal_colours(rng, (235, 230, 215)),
            "face": jitter(rng, (40, 35, 32), 8),
            "legs": (40, 35, 32),
            "far": (30, 26, 24),
        },
    ),
    "sofa": Look(
        _fixed(SOFA),
        (1.8, 2.4),
        _paint([(170, 40, 45), (100, 50, 120), (110, 70, 45), (120, 120, 125), (40, 100, 70), (50, 70, 140)]),
    ),
    "train": Look(
        _fixed(TRAIN),
        (2.8, 4.0),
        _paint(
            [(40, 70, 160), (190, 40, 40), (140, 140, 145), (40, 120, 70), (230, 190, 40)],
            [(240, 240, 235), (30, 30, 30)],
        ),
    ),
    "tvmonitor": Look(_fixed(TVMONITOR), (1.2, 1.5), _paint([(25, 25, 28), (90, 90, 95), (190, 190, 195)])),
}
"""Every VOC class's shape, proportions and colours; all 20 differ in shape, most also in colour."""

SCENES = [
    ((165, 195, 225), (80, 140, 60)),
    ((200, 190, 170), (140, 100, 60)),
    ((175, 200, 230), (110, 110, 112)),
    ((170, 195, 225), (60, 100, 140)),
    ((215, 205, 185), (120, 120, 130)),
    ((150, 160, 150), (90, 80, 70)),
]
"""(top, bottom) colour pairs: sky over grass, a room, a street, water, an office, a dim hall."""

WEIGHTS = np.array([3.0 if name == "person" else 1.0 for name in VOC_CLASSES])
"""Persons are three times as common as any other class, as in VOC."""


def _any_class(rng: np.random.Generator) -> str:
    """One of VOC's classes, persons three times as often as the others."""
    return VOC_CLASSES[int(rng.choice(len(VOC_CLASSES), p=WEIGHTS / WEIGHTS.sum()))]


def _classes(rng: np.random.Generator) -> list[str]:
    """The classes of a photo's objects: 1 to 5, often two or three of the same class together."""
    names = [_any_class(rng)]
    for _ in range(int(rng.choice(OBJECTS, p=CHANCES)) - 1):
        names.append(pick(rng, names) if rng.random() < 0.5 else _any_class(rng))
    return names


def _shared(a: PixelBox, b: PixelBox) -> float:
    """The area two boxes share, as a fraction of the smaller one's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return max(0.0, w) * max(0.0, h) / smaller


def _place(rng: np.random.Generator, h: int, w: int, names: list[str]) -> list[tuple[str, PixelBox]]:
    """A box for each object that shares at most 40 % of the smaller's area with the others;
    objects that find no room are left out. Largest first, which is the order they are drawn in."""
    placed: list[tuple[str, PixelBox]] = []
    for name in names:
        aspect = rng.uniform(*LOOKS[name].aspect)
        for _attempt in range(20):
            side = np.sqrt(h * w) * rng.uniform(0.2, 0.65) / len(names) ** 0.3
            bw, bh = side * np.sqrt(aspect), side / np.sqrt(aspect)
            fit = min(1.0, 1.05 * w / bw, 1.05 * h / bh)
            bw, bh = bw * fit, bh * fit
            left, top = rng.uniform(-0.15 * bw, w - 0.85 * bw), rng.uniform(-0.1 * bh, h - 0.9 * bh)
            box = (left, top, left + bw, top + bh)
            if all(_shared(box, other) <= 0.4 for _, other in placed):
                placed.append((name, box))
                break
    return sorted(placed, key=lambda item: -(item[1][2] - item[1][0]) * (item[1][3] - item[1][1]))


def _photo(rng: np.random.Generator, texture: Texture) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One photo: (H, W, 3) uint8 pixels, (H, W) uint8 object ids (0 background, k the k-th name)
    and the class names of its objects."""
    h, w = photo_size(rng, long_side=(300, 500), ratio=(0.6, 0.9), portrait=0.25)
    canvas = Canvas(h, w, (0, 0, 0))
    top, bottom = pick(rng, SCENES)
    backdrop(canvas, rng, jitter(rng, top), jitter(rng, bottom, 22), (0.25, 0.7))
    clutter(canvas, rng, int(rng.integers(3, 11)))
    objects = _place(rng, h, w, _classes(rng))
    for ident, (name, box) in enumerate(objects, start=1):
        look = LOOKS[name]
        canvas.draw(look.parts(rng), box, look.colours(rng), ident, flip=bool(rng.random() < 0.5))
    rgb, ids = canvas.layers()
    return texture.apply(rng, rgb), ids, [name for name, _ in objects]


def _annotate(rng: np.random.Generator, ids: np.ndarray, names: list[str]) -> list[tuple[str, tuple, int]]:
    """(class, VOC box, difficult) of each object, from its visible pixels. Small objects and a
    few others are difficult, VOC's flag for objects its evaluation leaves out."""
    objects = []
    for ident, name in enumerate(names, start=1):
        edges = visible_box(ids, ident)
        if edges is None:
            raise RuntimeError(f"object {ident} ({name}) is hidden completely; the placement rules need a look")
        small = (edges[2] - edges[0]) * (edges[3] - edges[1]) < 0.01 * ids.size
        objects.append((name, voc_box(edges), int(small or rng.random() < 0.06)))
    return objects


def _masks(ids: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) uint8 class mask and object mask, both with 255 along every outline, as VOC's PNGs."""
    lookup = np.zeros(256, dtype=np.uint8)
    lookup[1 : len(names) + 1] = [VOC_CLASSES.index(name) + 1 for name in names]
    void = outline(ids)
    semantic, instances = lookup[ids], ids.copy()
    semantic[void] = VOID
    instances[void] = VOID
    return semantic, instances


def _names(rng: np.random.Generator) -> dict[str, list[str]]:
    """Distinct VOC-style names (``2007_000032``) for each list, sorted as the real lists are."""
    total = sum(SEGMENTED.values()) + sum(BOXES_ONLY.values())
    codes = rng.choice(5 * 10_000, total, replace=False)
    pool = [f"{2007 + code // 10_000}_{code % 10_000:06d}" for code in codes]
    lists, start = {}, 0
    for key, count in [
        (f"{split} {kind}", n)
        for kind, counts in (("seg", SEGMENTED), ("box", BOXES_ONLY))
        for split, n in counts.items()
    ]:
        lists[key] = sorted(pool[start : start + count])
        start += count
    return lists


def _write_list(path: Path, lines: list[str]) -> None:
    """One name (or ``name flag``) a line, as VOC's image sets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_lists(folder: Path, lists: dict[str, list[str]], present: dict[str, dict[str, int]]) -> None:
    """``ImageSets/Segmentation`` and ``ImageSets/Main``, with the per-class lists' flags in ``present``
    (name -> class -> 1 present, 0 only difficult)."""
    for split in ("train", "val"):
        _write_list(folder / "ImageSets" / "Segmentation" / f"{split}.txt", lists[f"{split} seg"])
    _write_list(folder / "ImageSets" / "Segmentation" / "trainval.txt", sorted(lists["train seg"] + lists["val seg"]))
    main = {split: sorted(lists[f"{split} seg"] + lists[f"{split} box"]) for split in ("train", "val")}
    main["trainval"] = sorted(main["train"] + main["val"])
    for split, names in main.items():
        _write_list(folder / "ImageSets" / "Main" / f"{split}.txt", names)
        for cls in VOC_CLASSES:
            _write_list(
                folder / "ImageSets" / "Main" / f"{cls}_{split}.txt",
                [f"{name} {present[name].get(cls, -1):2d}" for name in names],
            )


def write(root: Path, seed: int = 0) -> Path:
    """Write the stand-in under ``root/voc2012/VOCdevkit/VOC2012/``; returns ``root/voc2012``."""
    base = Path(root) / NAME
    folder = base / "VOCdevkit" / "VOC2012"
    rng = np.random.default_rng([seed, 3])
    texture = Texture(rng)
    palette = voc_palette(256)
    lists = _names(rng)
    present: dict[str, dict[str, int]] = {}
    (folder / "Annotations").mkdir(parents=True, exist_ok=True)
    for key, names in lists.items():
        for stem in names:
            pixels, ids, classes = _photo(rng, texture)
            objects = _annotate(rng, ids, classes)
            save_photo(folder / "JPEGImages" / f"{stem}.jpg", pixels)
            (folder / "Annotations" / f"{stem}.xml").write_text(
                _voc_xml(f"{stem}.jpg", *ids.shape, objects), encoding="utf-8"
            )
            present[stem] = {}
            for name, _, difficult in objects:
                present[stem][name] = max(present[stem].get(name, 0), 1 - difficult)
            if key.endswith("seg"):
                semantic, instances = _masks(ids, classes)
                _png(folder / "SegmentationClass" / f"{stem}.png", semantic, palette)
                _png(folder / "SegmentationObject" / f"{stem}.png", instances, palette)
    _write_lists(folder, lists, present)
    return base
