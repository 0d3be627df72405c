"""Drawing the stand-ins' photos: objects built from coloured parts on textured, cluttered scenes.

An object is a list of :class:`Part` s laid out in the unit square of its box (``u`` to the
right, ``v`` down), facing right; ``flip`` mirrors it. A :class:`Canvas` keeps each pixel's
colour and the id of the object covering it in one RGBX image, so every part is rasterised once
for both, and masks, boxes, trimaps and outlines all come from that id layer (what is visible),
never from the geometry. :class:`Texture` then adds light, fur-like variation and sensor grain,
so that a model has to learn shapes and colours rather than flat areas.

The person and the four-legged animals live here because two stand-ins draw them (Penn-Fudan's
pedestrians and VOC's persons; the pets and VOC's cats, dogs, horses, cows and sheep).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

Colour = tuple[int, int, int]
PixelBox = tuple[float, float, float, float]
"""x0, y0, x1, y1 in pixels: where an object's unit square lands (it may reach past the edges)."""


class Part(NamedTuple):
    """One filled shape of an object, in the unit square of the object's box.

    shape: ``"ellipse"`` (geometry ``(cu, cv, ru, rv)``: centre and radii), ``"ring"`` (the
        same ellipse's outline, ``width`` box-widths thick, hollow), ``"poly"`` (geometry: the
        ``(u, v)`` corners) or ``"line"`` (geometry: the ``(u, v)`` points of a polyline
        ``width`` box-widths thick).
    colour: a key into the object's colours (``"main"``, ``"dark"``, ...) or an RGB triple.
    head: the part belongs to the head (pets keep head pixels apart for their head boxes).
    """

    shape: str
    geometry: tuple
    colour: str | Colour
    width: float = 0.0
    head: bool = False


def shade(colour: Colour, factor: float) -> Colour:
    """Darker (factor < 1) or lighter towards white (factor > 1)."""
    if factor <= 1:
        return tuple(int(c * factor) for c in colour)
    return tuple(min(255, int(c + (255 - c) * (factor - 1))) for c in colour)


def jitter(rng: np.random.Generator, colour: Colour, amount: int = 16) -> Colour:
    """``colour`` with each channel moved by up to ``amount`` (no two objects quite alike)."""
    return tuple(min(255, max(0, c + int(d))) for c, d in zip(colour, rng.integers(-amount, amount + 1, 3)))


def pick(rng: np.random.Generator, options: list):
    """One element of ``options`` (a list of tuples stays a tuple, unlike ``rng.choice``)."""
    return options[int(rng.integers(len(options)))]


# --------------------------------------------------------------------------------------------
# The canvas
# --------------------------------------------------------------------------------------------


class Canvas:
    """A photo being drawn: RGB colour plus, in the fourth byte, the id of what covers each pixel.

    Id 0 is background (the scene and its clutter); objects get 1, 2, ... so that a mask is
    ``ids == k``.
    """

    def __init__(self, height: int, width: int, colour: Colour) -> None:
        self.height, self.width = height, width
        self.image = Image.new("RGBX", (width, height), (*colour, 0))
        self._draw = ImageDraw.Draw(self.image)

    def rectangle(self, box: PixelBox, colour: Colour, ident: int = 0) -> None:
        """Fill ``box`` (x0, y0, x1, y1 in pixels)."""
        x0, y0, x1, y1 = box
        self._draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), fill=(*colour, ident))

    def ellipse(self, box: PixelBox, colour: Colour, ident: int = 0) -> None:
        """Fill the ellipse inscribed in ``box``."""
        x0, y0, x1, y1 = box
        self._draw.ellipse((x0, y0, max(x0, x1), max(y0, y1)), fill=(*colour, ident))

    def polygon(self, points: list[tuple[float, float]], colour: Colour, ident: int = 0) -> None:
        """Fill the polygon through ``points`` (pixels)."""
        self._draw.polygon(points, fill=(*colour, ident))

    def line(self, points: list[tuple[float, float]], width: float, colour: Colour, ident: int = 0) -> None:
        """A polyline ``width`` pixels thick with rounded joints."""
        self._draw.line(points, fill=(*colour, ident), width=max(1, round(width)), joint="curve")

    def ring(self, box: PixelBox, width: float, colour: Colour, ident: int = 0) -> None:
        """The outline of the ellipse inscribed in ``box``, ``width`` pixels thick, hollow."""
        x0, y0, x1, y1 = box
        self._draw.ellipse((x0, y0, max(x0, x1), max(y0, y1)), outline=(*colour, ident), width=max(1, round(width)))

    def draw(
        self,
        parts: list[Part],
        box: PixelBox,
        colours: dict[str, Colour],
        ident: int,
        flip: bool = False,
        head_ident: int | None = None,
    ) -> None:
        """Draw an object's ``parts`` into ``box``; its pixels get ``ident`` (head parts ``head_ident``
        when given), its colour keys are looked up in ``colours``."""
        x0, y0, x1, y1 = box
        bw, bh = x1 - x0, y1 - y0

        def at(u: float, v: float) -> tuple[float, float]:
            return x0 + (1 - u if flip else u) * bw, y0 + v * bh

        for part in parts:
            colour = colours[part.colour] if isinstance(part.colour, str) else part.colour
            owner = head_ident if part.head and head_ident is not None else ident
            if part.shape in ("ellipse", "ring"):
                cu, cv, ru, rv = part.geometry
                (cx, cy), rx, ry = at(cu, cv), ru * bw, rv * bh
                if part.shape == "ellipse":
                    self.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), colour, owner)
                else:
                    self.ring((cx - rx, cy - ry, cx + rx, cy + ry), part.width * bw, colour, owner)
            elif part.shape == "poly":
                self.polygon([at(u, v) for u, v in part.geometry], colour, owner)
            elif part.shape == "line":
                self.line([at(u, v) for u, v in part.geometry], part.width * bw, colour, owner)
            else:
                raise ValueError(f"part.shape must be 'ellipse', 'ring', 'poly' or 'line', got {part.shape!r}")

    def layers(self) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, 3) uint8 colours and (H, W) uint8 ids, as drawn so far."""
        both = np.asarray(self.image)
        return both[..., :3], both[..., 3].copy()


# --------------------------------------------------------------------------------------------
# Scenes: size, backdrop, clutter, texture
# --------------------------------------------------------------------------------------------


def photo_size(
    rng: np.random.Generator,
    long_side: tuple[int, int] = (260, 500),
    ratio: tuple[float, float] = (0.62, 0.88),
    portrait: float = 0.3,
    large: float = 0.0,
    largest: int = 800,
) -> tuple[int, int]:
    """(height, width) of a photo that is never square: the short side is ``ratio`` of the long one.

    ``large`` is the chance of a long side between the top of ``long_side`` and ``largest``.
    """
    top = largest if rng.random() < large else long_side[1]
    long = int(rng.integers(long_side[0], top + 1))
    short = max(180, int(long * rng.uniform(*ratio)))
    return (long, short) if rng.random() < portrait else (short, long)


def backdrop(
    canvas: Canvas, rng: np.random.Generator, top: Colour, bottom: Colour, horizon: tuple[float, float] = (0.3, 0.7)
) -> int:
    """Two areas split by a horizon (wall and floor, sky and ground); returns the horizon's row."""
    row = int(canvas.height * rng.uniform(*horizon))
    canvas.rectangle((0, 0, canvas.width, row), top)
    canvas.rectangle((0, row, canvas.width, canvas.height), bottom)
    return row


MUTED = [
    (120, 110, 100),
    (90, 100, 115),
    (150, 140, 120),
    (70, 80, 70),
    (160, 150, 150),
    (110, 90, 80),
    (60, 60, 70),
    (140, 120, 90),
    (100, 120, 110),
    (180, 170, 160),
    (85, 70, 60),
    (130, 130, 140),
]
"""Colours of clutter: the things in a photo nobody labelled."""


def clutter(canvas: Canvas, rng: np.random.Generator, count: int, scale: tuple[float, float] = (0.04, 0.18)) -> None:
    """``count`` unlabelled shapes (id 0): ellipses, boxes and wedges of muted colours."""
    side = min(canvas.height, canvas.width)
    for _ in range(count):
        w, h = side * rng.uniform(*scale), side * rng.uniform(*scale)
        x, y = rng.uniform(-0.5 * w, canvas.width - 0.5 * w), rng.uniform(-0.5 * h, canvas.height - 0.5 * h)
        colour, kind = jitter(rng, pick(rng, MUTED), 24), int(rng.integers(3))
        if kind == 0:
            canvas.ellipse((x, y, x + w, y + h), colour)
        elif kind == 1:
            canvas.rectangle((x, y, x + w, y + h), colour)
        else:
            canvas.polygon([(x, y + h), (x + w * rng.uniform(0.2, 0.8), y), (x + w, y + h)], colour)


def _smooth_field(rng: np.random.Generator, side: int, cells: int) -> np.ndarray:
    """(side, side) float32 in about [-1, 1]: random values on a ``cells`` grid, smoothly upsampled."""
    coarse = Image.fromarray(rng.random((cells, cells), dtype=np.float32), mode="F")
    return np.asarray(coarse.resize((side, side), Image.Resampling.BICUBIC)) * 2 - 1


class Texture:
    """Light and shade, a fine fur- or fabric-like pattern and sensor grain, added to a photo.

    Making noise is slow and cropping it is free, so one field (int16 grey levels: broad light
    ``light``, fine pattern ``fine``, grain ``grain``, each as an amplitude) is drawn per stand-in
    and each photo takes it at its own random offset. Adding it in int16 rather than multiplying
    in floats is several times faster and looks the same.
    """

    def __init__(
        self, rng: np.random.Generator, side: int = 1024, light: float = 28, fine: float = 14, grain: float = 5
    ) -> None:
        self.side = side
        noise = light * _smooth_field(rng, side, 10) + fine * _smooth_field(rng, side, 120)
        noise += grain * rng.standard_normal((side, side), dtype=np.float32)
        self.noise = np.round(noise).astype(np.int16)

    def apply(self, rng: np.random.Generator, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 ``rgb`` plus a random crop of the field (H and W at most ``side``)."""
        h, w = rgb.shape[:2]
        if h > self.side or w > self.side:
            raise ValueError(f"rgb must be at most {self.side} x {self.side} pixels, got {h} x {w}")
        top, left = int(rng.integers(0, self.side - h + 1)), int(rng.integers(0, self.side - w + 1))
        out = rgb.astype(np.int16)
        out += self.noise[top : top + h, left : left + w, None]
        np.clip(out, 0, 255, out=out)
        return out.astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Reading the id layer
# --------------------------------------------------------------------------------------------


def visible_box(ids: np.ndarray, ident: int) -> tuple[int, int, int, int] | None:
    """Edges (x1, y1, x2, y2) in pixels around the pixels of ``ident`` in (H, W) ``ids``; None if none show."""
    mask = ids == ident
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def voc_box(edges: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Edges (x1, y1, x2, y2) to VOC's (xmin, ymin, xmax, ymax): pixels counted from 1, inclusive."""
    x1, y1, x2, y2 = edges
    return x1 + 1, y1 + 1, x2, y2


def _window(values: np.ndarray, radius: int, reduce: Callable) -> np.ndarray:
    """``reduce`` (np.maximum or np.minimum) over each pixel's (2r+1)^2 neighbourhood, edges repeated.

    One pass per axis: a square window is a row window of a column window.
    """
    for _ in range(2):
        n = values.shape[0]
        padded = np.pad(values, ((radius, radius), (0, 0)), mode="edge")
        result = padded[:n]
        for k in range(1, 2 * radius + 1):
            result = reduce(result, padded[k : k + n])
        values = result.T
    return values


def outline(ids: np.ndarray, radius: int = 2) -> np.ndarray:
    """(H, W) bool: pixels within ``radius`` of a change of id (VOC's void band, the trimaps' border)."""
    return _window(ids, radius, np.maximum) != _window(ids, radius, np.minimum)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def save_photo(path: Path, rgb: np.ndarray, grey: bool = False) -> None:
    """(H, W, 3) uint8 to a JPEG (quality 90, as cameras and Flickr) or PNG, by ``path``'s suffix.

    PNGs are compressed at level 1: noisy photos take several times longer at zlib's default
    for a few percent less disk. ``grey`` writes a one-channel photo, as a few real ones are.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(rgb)
    if grey:
        image = image.convert("L")
    if path.suffix == ".png":
        image.save(path, compress_level=1)
    else:
        image.save(path, quality=90)


# --------------------------------------------------------------------------------------------
# Things two stand-ins draw: people and four-legged animals
# --------------------------------------------------------------------------------------------

SKIN = [(240, 200, 170), (225, 180, 140), (190, 140, 100), (150, 100, 70), (100, 70, 50)]
HAIR = [(30, 25, 20), (70, 45, 25), (120, 85, 45), (200, 170, 110), (110, 110, 110)]
CLOTHES = [
    (200, 40, 40),
    (40, 70, 160),
    (30, 30, 35),
    (230, 230, 225),
    (60, 130, 70),
    (220, 170, 40),
    (120, 60, 130),
    (150, 150, 155),
    (90, 60, 40),
    (240, 120, 40),
]
TROUSERS = [(35, 40, 70), (30, 30, 30), (80, 80, 85), (60, 70, 110), (120, 100, 80), (40, 60, 50)]


def person(stride: float) -> list[Part]:
    """An upright walking figure (its box about 0.4 times as wide as tall): legs ``stride`` apart
    (0 to 0.18), shoes, arms, torso, neck, head and hair."""
    s = stride
    return [
        Part("poly", ((0.28, 0.55), (0.5, 0.55), (0.42 - s, 0.96), (0.24 - s, 0.96)), "legs"),
        Part("poly", ((0.5, 0.55), (0.72, 0.55), (0.76 + s, 0.96), (0.58 + s, 0.96)), "legs"),
        Part("ellipse", (0.33 - s, 0.972, 0.12, 0.028), "shoes"),
        Part("ellipse", (0.67 + s, 0.972, 0.12, 0.028), "shoes"),
        Part("poly", ((0.08, 0.21), (0.24, 0.19), (0.2, 0.52), (0.05, 0.5)), "main"),
        Part("poly", ((0.76, 0.19), (0.92, 0.21), (0.95, 0.5), (0.8, 0.52)), "main"),
        Part("ellipse", (0.12, 0.53, 0.07, 0.03), "skin"),
        Part("ellipse", (0.88, 0.53, 0.07, 0.03), "skin"),
        Part("poly", ((0.22, 0.18), (0.78, 0.18), (0.74, 0.59), (0.26, 0.59)), "main"),
        Part("ellipse", (0.5, 0.16, 0.09, 0.03), "skin"),
        Part("ellipse", (0.5, 0.09, 0.17, 0.08), "skin"),
        Part("ellipse", (0.5, 0.045, 0.18, 0.045), "hair"),
    ]


def person_colours(rng: np.random.Generator) -> dict[str, Colour]:
    """Clothes, skin and hair for :func:`person`."""
    return {
        "main": jitter(rng, pick(rng, CLOTHES)),
        "legs": jitter(rng, pick(rng, TROUSERS)),
        "skin": jitter(rng, pick(rng, SKIN), 8),
        "hair": jitter(rng, pick(rng, HAIR), 10),
        "shoes": jitter(rng, (35, 30, 28), 10),
    }


def _legs(front: float, back: float, top: float, width: float) -> list[Part]:
    """Four legs from ``top`` to the ground: the far pair darker, drawn first."""
    parts = []
    for u, key in ((back + 0.1, "far"), (front + 0.1, "far"), (back, "legs"), (front, "legs")):
        parts.append(
            Part("poly", ((u - width / 2, top), (u + width / 2, top), (u + width / 2, 1.0), (u - width / 2, 1.0)), key)
        )
    return parts


def _cat_head() -> list[Part]:
    """Pointed upright ears, round face, green eyes, small pink nose, whiskers."""
    return [
        Part("poly", ((0.68, 0.22), (0.7, 0.02), (0.79, 0.15)), "ears", head=True),
        Part("poly", ((0.81, 0.14), (0.9, 0.02), (0.93, 0.22)), "ears", head=True),
        Part("poly", ((0.7, 0.19), (0.71, 0.07), (0.76, 0.15)), (225, 150, 160), head=True),
        Part("ellipse", (0.81, 0.3, 0.13, 0.16), "face", head=True),
        Part("ellipse", (0.77, 0.26, 0.025, 0.035), (150, 200, 60), head=True),
        Part("ellipse", (0.87, 0.26, 0.025, 0.035), (150, 200, 60), head=True),
        Part("ellipse", (0.77, 0.26, 0.008, 0.03), (15, 15, 15), head=True),
        Part("ellipse", (0.87, 0.26, 0.008, 0.03), (15, 15, 15), head=True),
        Part("poly", ((0.8, 0.35), (0.86, 0.35), (0.83, 0.39)), (235, 120, 140), head=True),
        Part("line", ((0.86, 0.4), (0.94, 0.38)), (235, 235, 230), 0.006, head=True),
        Part("line", ((0.86, 0.42), (0.94, 0.43)), (235, 235, 230), 0.006, head=True),
    ]


def _dog_head() -> list[Part]:
    """A long muzzle with a big black nose, an eye, floppy ears hanging beside the head."""
    return [
        Part("ellipse", (0.79, 0.3, 0.12, 0.15), "face", head=True),
        Part("ellipse", (0.91, 0.37, 0.08, 0.08), "muzzle", head=True),
        Part("ellipse", (0.975, 0.34, 0.025, 0.035), (20, 18, 18), head=True),
        Part("ellipse", (0.82, 0.25, 0.02, 0.028), (25, 20, 15), head=True),
        Part("ellipse", (0.71, 0.33, 0.045, 0.14), "ears", head=True),
        Part("ellipse", (0.88, 0.46, 0.03, 0.03), (225, 90, 110), head=True),
    ]


def _horse_head() -> list[Part]:
    """A long face held high, small pointed ears, a dark mane down the neck."""
    return [
        Part("poly", ((0.63, 0.38), (0.74, 0.1), (0.8, 0.12), (0.76, 0.45)), "dark"),
        Part("poly", ((0.74, 0.1), (0.8, 0.06), (0.98, 0.22), (0.93, 0.3)), "face", head=True),
        Part("poly", ((0.76, 0.09), (0.78, 0.0), (0.8, 0.08)), "ears", head=True),
        Part("ellipse", (0.82, 0.11, 0.015, 0.02), (20, 15, 10), head=True),
    ]


def _cow_head() -> list[Part]:
    """A broad face with a pale muzzle, sideways ears and two short horns."""
    return [
        Part("poly", ((0.78, 0.16), (0.75, 0.04), (0.8, 0.14)), (230, 225, 200), head=True),
        Part("poly", ((0.88, 0.16), (0.92, 0.04), (0.9, 0.15)), (230, 225, 200), head=True),
        Part("ellipse", (0.72, 0.22, 0.06, 0.03), "ears", head=True),
        Part("ellipse", (0.84, 0.28, 0.09, 0.14), "face", head=True),
        Part("ellipse", (0.86, 0.39, 0.07, 0.05), (230, 180, 170), head=True),
    ]


def _sheep_head() -> list[Part]:
    """A dark narrow face with ears sticking out."""
    return [
        Part("ellipse", (0.74, 0.27, 0.06, 0.025), "face", head=True),
        Part("ellipse", (0.85, 0.33, 0.08, 0.12), "face", head=True),
        Part("ellipse", (0.87, 0.3, 0.015, 0.02), (230, 230, 230), head=True),
    ]


HEADS = {"cat": _cat_head, "dog": _dog_head, "horse": _horse_head, "cow": _cow_head, "sheep": _sheep_head}


def animal(
    kind: str, girth: float = 0.2, legs: float = 0.55, pattern: str = "plain", rng: np.random.Generator | None = None
) -> list[Part]:
    """A four-legged ``kind`` (``"cat"``, ``"dog"``, ``"horse"``, ``"cow"``, ``"sheep"``) seen from the
    side: tail, legs, body, coat ``pattern``, neck and head (the head's parts have ``head=True``).

    girth: the body's half height; legs: where the legs start (v), so the smaller, the longer.
    pattern: ``"plain"``, ``"spots"``, ``"stripes"`` or ``"patch"`` (placed with ``rng``).
    """
    if kind not in HEADS:
        raise ValueError(f"kind must be one of {sorted(HEADS)}, got {kind!r}")
    tail = ((0.14, 0.45), (0.06, 0.3), (0.05, 0.12)) if kind == "cat" else ((0.13, 0.42), (0.03, 0.35))
    parts = [Part("line", tail, "tail", 0.04 if kind != "horse" else 0.06)]
    parts += _legs(front=0.6, back=0.2, top=legs, width=0.075)
    if kind == "sheep":
        parts += [
            Part("ellipse", (0.42 + du, 0.45 + dv, 0.14, 0.13), "main")
            for du, dv in ((-0.16, 0.0), (0.0, -0.05), (0.16, 0.0), (-0.08, 0.06), (0.08, 0.06))
        ]
    else:
        parts.append(Part("ellipse", (0.42, 0.48, 0.33, girth), "main"))
    parts += _pattern(pattern, girth, rng)
    if kind in ("cat", "dog"):
        parts.append(Part("poly", ((0.6, 0.38), (0.72, 0.24), (0.86, 0.32), (0.72, 0.56)), "main"))
    return parts + HEADS[kind]()


def _pattern(pattern: str, girth: float, rng: np.random.Generator | None) -> list[Part]:
    """Coat markings on the body ellipse centred at (0.42, 0.48)."""
    if pattern == "plain":
        return []
    if rng is None:
        raise ValueError(f"rng is needed to place the {pattern!r} pattern, got None")
    if pattern == "patch":
        return [Part("ellipse", (0.42 + rng.uniform(-0.12, 0.12), 0.46, rng.uniform(0.1, 0.18), girth * 0.7), "second")]
    if pattern == "spots":
        return [
            Part(
                "ellipse",
                (0.42 + rng.uniform(-0.26, 0.26), 0.48 + rng.uniform(-0.6, 0.6) * girth, 0.025, 0.03),
                "second",
            )
            for _ in range(9)
        ]
    if pattern == "stripes":
        return [
            Part("line", ((u, 0.48 - girth * 0.85), (u + 0.04, 0.48 + girth * 0.6)), "second", 0.02)
            for u in (0.2, 0.3, 0.4, 0.5, 0.6)
        ]
    raise ValueError(f"pattern must be 'plain', 'spots', 'stripes' or 'patch', got {pattern!r}")


def animal_colours(
    rng: np.random.Generator, coat: Colour, second: Colour | None = None, points: Colour | None = None
) -> dict[str, Colour]:
    """Colours for :func:`animal`: a ``coat``, markings ``second`` and dark ``points`` (face, ears,
    legs and tail, as Siamese cats and pugs have)."""
    main = jitter(rng, coat, 12)
    point = jitter(rng, points, 8) if points is not None else None
    return {
        "main": main,
        "face": point or main,
        "ears": point or shade(main, 0.85),
        "legs": point or main,
        "far": shade(point or main, 0.75),
        "tail": point or main,
        "dark": shade(main, 0.5),
        "muzzle": shade(main, 1.2) if point is None else point,
        "second": jitter(rng, second, 8) if second is not None else shade(main, 0.55),
    }
