"""The toy world: a seeded, offline renderer of small scenes with every annotation at once.

A scene is a plain description (:class:`Scene`: the stuff layout, then the objects from back to
front, then distractors). :func:`render` turns one description into a picture and all of its
annotations, so they can never disagree:

* ``image``: (H, W, 3) uint8 RGB,
* ``instances``: (H, W) uint8, 0 where no object is visible, k where object k (1-based) is,
* ``semantic``: (H, W) uint8, the class of every pixel, stuff included,
* ``labels``: (N,) the class of each object, ``boxes``: (N, 4) XYXY in pixels.

Shapes are drawn at ``SUPERSAMPLE`` times the output size and downsampled, which gives clean,
anti-aliased edges; labels are read at the centre of each output pixel.

Every class of the world, its colour and the datasets that use it are listed once, in
:data:`STUFF_CLASSES`, :data:`THING_CLASSES`, :data:`PALETTE` and :data:`SPECS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import ClassVar

import numpy as np
from PIL import Image, ImageDraw

GENERATOR_VERSION = 3
"""Bumped whenever a change to this module changes what a seed draws (it keys the caches)."""

STUFF_CLASSES = ("background", "sky", "grass", "road", "table", "pavement", "building")
"""Amorphous regions: every pixel not covered by an object belongs to one of these."""

THING_CLASSES = ("cat", "dog", "apple", "orange", "sheep", "pen", "person", "car")
"""Countable objects: each gets a box, a label and an instance mask."""

PALETTE: dict[str, tuple[int, int, int]] = {
    "background": (0, 0, 0),
    "sky": (70, 130, 180),
    "grass": (107, 142, 35),
    "road": (128, 64, 128),
    "table": (190, 153, 153),
    "cat": (220, 20, 60),
    "dog": (0, 0, 142),
    "apple": (255, 0, 0),
    "orange": (250, 170, 30),
    "sheep": (220, 220, 0),
    "pen": (0, 220, 220),
    "pavement": (244, 35, 232),
    "building": (70, 70, 70),
    "person": (255, 90, 200),
    "car": (0, 60, 100),
}
"""One display colour per class (Cityscapes-like), used for semantic masks and legends."""

SUPERSAMPLE = 3
"""Shapes are drawn at this many times the output resolution, then downsampled."""

_INSTANCE_BASE = 32  # ids below this in the high-resolution id layer are stuff, above are objects
_STUFF_ID = {name: i + 1 for i, name in enumerate(STUFF_CLASSES)}  # stuff class -> id layer value
_FAR_PART = 64  # object k's far-side limbs carry id _INSTANCE_BASE + _FAR_PART + k (see _draw_person)

PANOPTIC_DIVISOR = 1000
"""Panoptic ids are ``semantic * PANOPTIC_DIVISOR + instance`` (see :func:`panoptic_ids`)."""


# --------------------------------------------------------------------------------------------
# Scene description
# --------------------------------------------------------------------------------------------


@dataclass
class Thing:
    """One object in a scene. Positions and sizes are fractions of the image side.

    ``kind`` is a name from :data:`THING_CLASSES`; ``style`` holds the kind's own details
    (ear size, cap colour, ...), so the renderer needs nothing but this record.
    """

    kind: str
    x: float
    y: float
    scale: float
    angle: float = 0.0
    flip: bool = False
    colour: tuple[int, int, int] = (128, 128, 128)
    style: dict = field(default_factory=dict)


@dataclass
class Scene:
    """Everything needed to draw one sample: the layout of stuff, objects and distractors.

    ``things`` are drawn back to front; ``distractors`` (balls, plates, papers, bushes...) are
    drawn in the layer given by their ``style["over"]`` and are labelled as background.
    ``texture_offsets``: (4, 2) row/column offsets into the shared noise bank (see :func:`_texture`).
    """

    dataset: str
    size: int
    layout: dict
    things: list[Thing]
    distractors: list[Thing]
    texture_offsets: list[list[int]]


@dataclass
class Rendered:
    """The picture and every annotation of one scene (numpy, ready to cache).

    image: (H, W, 3) uint8 RGB; instances: (H, W) uint8, 0 = none, k = ``things[k-1]``;
    semantic: (H, W) uint8 indices into the dataset's ``semantic_classes``;
    labels: (N,) int64, 1-based indices into the dataset's ``categories`` (0 is background);
    boxes: (N, 4) float32 XYXY in pixels, the outer edges of each object's visible pixels;
    label: the scene's main class, a 0-based index into the dataset's ``classes``.
    """

    image: np.ndarray
    instances: np.ndarray
    semantic: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    label: int
    visible_fraction: np.ndarray
    keypoints: np.ndarray | None = None
    points: np.ndarray | None = None
    """keypoints: (N, K, 3) float32 x, y in pixels, v in {0, 1, 2} (COCO), for datasets whose
    spec names keypoints; points: (N, 2) float32 head points x, y in pixels (counting datasets)."""


# --------------------------------------------------------------------------------------------
# Drawing primitives: two layers (colour and id) drawn in lockstep at high resolution
# --------------------------------------------------------------------------------------------

_CIRCLE = np.stack(
    [np.cos(np.linspace(0, 2 * np.pi, 28, endpoint=False)), np.sin(np.linspace(0, 2 * np.pi, 28, endpoint=False))],
    axis=1,
)


class _Canvas:
    """A colour layer and an id layer, drawn with the same shapes at high resolution.

    Both live in one RGBX image: RGB holds the colour, the fourth byte the id of whatever was
    drawn last at that pixel, so each shape is rasterised once for both.
    """

    def __init__(self, side: int, fill: tuple[int, int, int], fill_id: int) -> None:
        self.side = side
        self.image = Image.new("RGBX", (side, side), (*fill, fill_id))
        self._draw = ImageDraw.Draw(self.image)

    def fill(self, colour: tuple[int, int, int], ident: int) -> None:
        """Paint the whole canvas (much cheaper than rasterising a polygon that covers it)."""
        self.image.paste((*colour, ident), (0, 0, self.side, self.side))

    def polygon(self, points: list[float], colour: tuple[int, int, int], ident: int) -> None:
        """Fill a polygon given as flat pixel coordinates ``[x0, y0, x1, y1, ...]``."""
        self._draw.polygon(points, fill=(*colour, ident))

    def disc(self, centre: tuple[float, float], radius: float, colour: tuple[int, int, int], ident: int) -> None:
        """Fill a circle of ``radius`` pixels around an (x, y) pixel centre."""
        (x, y), r = centre, radius
        self._draw.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, ident))

    def line(self, points: list[float], width: float, colour: tuple[int, int, int], ident: int) -> None:
        """Draw a thick polyline through flat pixel coordinates ``[x0, y0, ...]``, with round joints."""
        w = max(1, int(round(width)))
        self._draw.line(points, fill=(*colour, ident), width=w, joint="curve")

    def area(self, ident: int, around: Thing) -> int:
        """High-resolution pixels showing ``ident`` (or its far-side parts, ``ident + _FAR_PART``)
        near ``around`` (within one object size of its centre)."""
        cx, cy, r = around.x * self.side, around.y * self.side, around.scale * self.side
        x0, y0, x1, y1 = (int(min(max(v, 0), self.side)) for v in (cx - r, cy - r, cx + r + 1, cy + r + 1))
        if x1 <= x0 or y1 <= y0:
            return 0
        histogram = self.image.crop((x0, y0, x1, y1)).getchannel(3).histogram()
        return histogram[ident] + histogram[ident + _FAR_PART]

    def downsample(self, size: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """The finished canvas at ``size``: what the camera sees, and what is where.

        Returns (size, size, 3) uint8 area-averaged colours, (size, size) uint8 ids read at the
        centre of each output pixel, and how many high-resolution pixels show each id (256 counts).
        """
        step = self.side // size
        rgb = np.asarray(self.image.reduce(step))[..., :3]
        id_layer = self.image.getchannel(3)
        ids = np.asarray(id_layer)[step // 2 :: step, step // 2 :: step]
        return rgb, ids, id_layer.histogram()


class _Pose:
    """Maps an object's local coordinates (units of its own size) to canvas pixels."""

    def __init__(self, thing: Thing, side: int) -> None:
        a = math.radians(thing.angle)
        s = thing.scale * side
        sx = -s if thing.flip else s
        # x_pixel = a * x + b * y + ox, y_pixel = c * x + d * y + oy
        self.a, self.b, self.c, self.d = math.cos(a) * sx, -math.sin(a) * s, math.sin(a) * sx, math.cos(a) * s
        self.ox, self.oy = thing.x * side, thing.y * side
        self.unit = s  # pixels per local unit

    def __call__(self, local: list) -> list[float]:
        """(K, 2) local points to flat pixel coordinates ``[x0, y0, x1, y1, ...]``, as PIL draws them.

        Plain Python floats: for the few points of a shape this is several times cheaper than
        a NumPy matrix product, and gives the same numbers.
        """
        a, b, c, d, ox, oy = self.a, self.b, self.c, self.d, self.ox, self.oy
        flat: list[float] = []
        for x, y in local:
            flat += (a * x + b * y + ox, c * x + d * y + oy)
        return flat

    def point(self, x: float, y: float) -> tuple[float, float]:
        """One local point to pixels."""
        return self.a * x + self.b * y + self.ox, self.c * x + self.d * y + self.oy

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> list[float]:
        """Flat pixel coordinates of the 28-point ellipse :func:`_ellipse` describes in local units.

        The ellipse's own scale and turn and the pose are folded into one 2×3 affine map first,
        so the 28 points are transformed once.
        """
        cos, sin = (math.cos(math.radians(angle)), math.sin(math.radians(angle))) if angle else (1.0, 0.0)
        a, b, c, d = self.a, self.b, self.c, self.d
        matrix = np.array(
            [[(a * cos + b * sin) * rx, (b * cos - a * sin) * ry], [(c * cos + d * sin) * rx, (d * cos - c * sin) * ry]]
        )
        shift = (a * cx + b * cy + self.ox, c * cx + d * cy + self.oy)
        return (_CIRCLE @ matrix.T + shift).ravel().tolist()


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> np.ndarray:
    """(28, 2) points of an ellipse in local coordinates, rotated by ``angle`` degrees."""
    pts = _CIRCLE * (rx, ry)
    if angle:
        a = math.radians(angle)
        pts = pts @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    return pts + (cx, cy)


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    """Darken (factor < 1) or lighten (factor > 1, towards white) a colour."""
    if factor <= 1:
        r, g, b = (int(v * factor) for v in colour)
    else:
        r, g, b = (min(255, int(v + (255 - v) * (factor - 1))) for v in colour)
    return r, g, b


# --------------------------------------------------------------------------------------------
# How each kind of object is drawn (facing +x, centred on the origin, about 1 unit long)
# --------------------------------------------------------------------------------------------


def _draw_legs(
    cv: _Canvas,
    pose: _Pose,
    xs: list[float],
    top: float,
    bottom: float,
    width: float,
    colour: tuple[int, int, int],
    ident: int,
) -> None:
    for x in xs:
        cv.polygon(pose(_rect(x - width / 2, top, x + width / 2, bottom)), colour, ident)


def _draw_pet_body(cv: _Canvas, pose: _Pose, t: Thing, ident: int) -> tuple[float, float, float]:
    """Tail, legs, body and head shared by cats and dogs; returns the head (cx, cy, r)."""
    st = t.style
    coat, patch = t.colour, st["patch"]
    leg = st["leg"]
    cv.line(pose(st["tail"]), 0.075 * pose.unit, coat, ident)
    _draw_legs(cv, pose, [-0.32, -0.2, 0.18, 0.3], 0.05, 0.22 + leg, 0.085, _shade(coat, 0.8), ident)
    cv.polygon(pose.ellipse(0, 0.03, 0.45, 0.2 * st["girth"]), coat, ident)
    if st["has_patch"]:
        cv.polygon(pose.ellipse(-0.1, 0.0, 0.17, 0.12, 20), patch, ident)
    hx, hy, hr = 0.43, -0.2, 0.18 * st["head"]
    return hx, hy, hr


def _draw_cat(cv: _Canvas, t: Thing, ident: int) -> None:
    """Pointed upright ears, a round flat face, a small pink nose."""
    pose = _Pose(t, cv.side)
    hx, hy, hr = _draw_pet_body(cv, pose, t, ident)
    ear = t.style["ear"]
    coat = t.colour
    for dx in (-0.6, 0.35):
        base0, base1 = (hx + (dx - 0.35) * hr, hy - 0.55 * hr), (hx + (dx + 0.45) * hr, hy - 0.75 * hr)
        tip = (hx + (dx + 0.05) * hr, hy - (0.8 + 1.1 * ear) * hr)
        cv.polygon(pose([base0, tip, base1]), coat, ident)
        mid = (hx + dx * hr, hy - 0.7 * hr)  # the inner ear: the outer one pulled 40 % towards here
        inner = [(x * 0.6 + mid[0] * 0.4, y * 0.6 + mid[1] * 0.4) for x, y in (base0, tip, base1)]
        cv.polygon(pose(inner), (230, 150, 160), ident)
    cv.polygon(pose.ellipse(hx, hy, hr * 1.05, hr), coat, ident)
    cv.polygon(pose.ellipse(hx + 0.35 * hr, hy - 0.15 * hr, 0.2 * hr, 0.24 * hr), (150, 200, 60), ident)
    cv.polygon(pose.ellipse(hx + 0.38 * hr, hy - 0.15 * hr, 0.06 * hr, 0.2 * hr), (15, 15, 15), ident)
    nose = [(hx + 0.95 * hr, hy + 0.2 * hr), (hx + 1.1 * hr, hy + 0.15 * hr), (hx + 1.05 * hr, hy + 0.38 * hr)]
    cv.polygon(pose(nose), (235, 120, 140), ident)


def _draw_dog(cv: _Canvas, t: Thing, ident: int) -> None:
    """A long muzzle with a big dark nose, and floppy ears hanging beside the head."""
    pose = _Pose(t, cv.side)
    hx, hy, hr = _draw_pet_body(cv, pose, t, ident)
    coat, ear_colour = t.colour, t.style["ear_colour"]
    snout = t.style["snout"]
    cv.polygon(pose.ellipse(hx, hy, hr * 1.05, hr), coat, ident)
    mx = hx + hr * (0.7 + 0.55 * snout)
    cv.polygon(pose.ellipse(mx, hy + 0.3 * hr, 0.75 * snout * hr + 0.35 * hr, 0.5 * hr), _shade(coat, 1.15), ident)
    cv.polygon(pose.ellipse(mx + (0.7 * snout + 0.3) * hr, hy + 0.18 * hr, 0.26 * hr, 0.22 * hr), (20, 18, 18), ident)
    if t.style["tongue"]:
        cv.polygon(pose.ellipse(mx + 0.1 * hr, hy + 0.85 * hr, 0.2 * hr, 0.25 * hr), (225, 90, 110), ident)
    cv.disc(pose.point(hx + 0.3 * hr, hy - 0.25 * hr), 0.16 * hr * pose.unit, (25, 20, 15), ident)
    ear = t.style["ear"]
    cv.polygon(pose.ellipse(hx - 0.45 * hr, hy + 0.35 * hr, 0.38 * hr, (0.8 + 0.5 * ear) * hr, 15), ear_colour, ident)


def _draw_apple(cv: _Canvas, t: Thing, ident: int) -> None:
    """Two lobes with a dip on top, a stem, sometimes a leaf; shaded rim and a highlight."""
    pose = _Pose(t, cv.side)
    base = t.colour
    dark = _shade(base, 0.7)
    cv.line(pose([(0.0, -0.28), (0.05, -0.5)]), 0.06 * pose.unit, (100, 65, 30), ident)
    if t.style["leaf"]:
        cv.polygon(pose.ellipse(0.2, -0.45, 0.15, 0.06, -25), (70, 150, 50), ident)
    for cx, cy, r in ((-0.16, 0.02, 0.36), (0.16, 0.02, 0.36), (0.0, 0.1, 0.38)):
        cv.disc(pose.point(cx, cy), r * pose.unit, dark, ident)
    for cx, cy, r in ((-0.17, 0.0, 0.3), (0.13, 0.0, 0.3), (-0.02, 0.06, 0.32)):
        cv.disc(pose.point(cx, cy), r * pose.unit, base, ident)
    if t.style["blush"] is not None:
        cv.polygon(pose.ellipse(0.12, 0.1, 0.2, 0.24, 20), t.style["blush"], ident)
    cv.polygon(pose.ellipse(-0.17, -0.1, 0.07, 0.12, 20), _shade(base, 1.5), ident)


def _draw_orange(cv: _Canvas, t: Thing, ident: int) -> None:
    """A round fruit with a shaded rim, dimpled peel and a small calyx."""
    pose = _Pose(t, cv.side)
    base = t.colour
    cv.disc(pose.point(0, 0), 0.43 * pose.unit, _shade(base, 0.78), ident)
    cv.disc(pose.point(-0.03, -0.03), 0.37 * pose.unit, base, ident)
    for dx, dy in t.style["dimples"]:
        cv.disc(pose.point(dx, dy), 0.035 * pose.unit, _shade(base, 0.85), ident)
    cx, cy = t.style["calyx"]
    cv.polygon(pose.ellipse(cx, cy, 0.07, 0.06), (95, 120, 40), ident)
    cv.polygon(pose.ellipse(-0.15, -0.16, 0.07, 0.1, 30), _shade(base, 1.35), ident)


def _draw_sheep(cv: _Canvas, t: Thing, ident: int) -> None:
    """A woolly blob of overlapping circles with a dark head and dark legs."""
    pose = _Pose(t, cv.side)
    head = t.style["head_colour"]
    _draw_legs(cv, pose, [-0.28, -0.14, 0.14, 0.27], 0.1, 0.42, 0.07, head, ident)
    for x, y, r, shade in t.style["wool"]:
        cv.disc(pose.point(x, y), r * pose.unit, _shade(t.colour, shade), ident)
    hx, hy = 0.47, -0.1 + t.style["head_drop"]
    cv.polygon(pose.ellipse(hx - 0.07, hy - 0.07, 0.06, 0.035, -30), head, ident)
    cv.polygon(pose.ellipse(hx, hy, 0.13, 0.095, 25), head, ident)
    cv.polygon(pose.ellipse(hx - 0.08, hy - 0.08, 0.08, 0.07), _shade(t.colour, 0.95), ident)


def _draw_pen(cv: _Canvas, t: Thing, ident: int) -> None:
    """A thin bar: a cone tip, a grip, the barrel and a wider cap with a clip."""
    pose = _Pose(t, cv.side)
    w = t.style["width"]
    body, cap = t.colour, t.style["cap_colour"]
    cv.polygon(pose([(-0.5, 0.0), (-0.4, -0.45 * w), (-0.4, 0.45 * w)]), (200, 195, 180), ident)
    cv.polygon(pose([(-0.5, 0.0), (-0.47, -0.12 * w), (-0.47, 0.12 * w)]), (30, 30, 30), ident)
    cv.polygon(pose(_rect(-0.4, -0.5 * w, -0.28, 0.5 * w)), _shade(body, 0.6), ident)
    cv.polygon(pose(_rect(-0.28, -0.5 * w, 0.27, 0.5 * w)), body, ident)
    cv.polygon(pose(_rect(-0.28, -0.5 * w, 0.27, -0.2 * w)), _shade(body, 1.3), ident)
    cv.polygon(pose(_rect(0.25, -0.6 * w, 0.5, 0.6 * w)), cap, ident)
    cv.polygon(pose(_rect(0.3, -0.75 * w, 0.47, -0.5 * w)), (190, 190, 200), ident)


def _draw_blob(cv: _Canvas, t: Thing, ident: int) -> None:
    """Distractor: a cluster of circles (bush, ball, plate, tree crown...)."""
    pose = _Pose(t, cv.side)
    squash = t.style.get("squash", 1.0)
    for cx, cy, r, shade in t.style["circles"]:
        if squash == 1.0:
            cv.disc(pose.point(cx, cy), r * pose.unit, _shade(t.colour, shade), ident)
        else:
            cv.polygon(pose.ellipse(cx, cy, r, r * squash), _shade(t.colour, shade), ident)


def _draw_box(cv: _Canvas, t: Thing, ident: int) -> None:
    """Distractor: a rotated rectangle with optional stripes (paper, napkin, fence post...)."""
    pose = _Pose(t, cv.side)
    hw, hh = t.style["half"]
    cv.polygon(pose(_rect(-hw, -hh, hw, hh)), t.colour, ident)
    for y in t.style.get("stripes", ()):
        cv.polygon(pose(_rect(-hw * 0.85, y - 0.01, hw * 0.85, y + 0.01)), t.style["stripe_colour"], ident)


_DRAW: dict[str, Callable[[_Canvas, Thing, int], None]] = {
    "cat": _draw_cat,
    "dog": _draw_dog,
    "apple": _draw_apple,
    "orange": _draw_orange,
    "sheep": _draw_sheep,
    "pen": _draw_pen,
    "blob": _draw_blob,
    "box": _draw_box,
}


# --------------------------------------------------------------------------------------------
# Stuff: the layout regions behind the objects, and their textures
# --------------------------------------------------------------------------------------------

_WHOLE_IMAGE = [(0, 0), (1, 0), (1, 1), (0, 1)]


def _draw_layout(cv: _Canvas, layout: dict, stuff_id: dict[str, int]) -> None:
    """Fill the regions of a layout, in order: each is (class name, colour, polygon in 0..1)."""
    for name, colour, poly in layout["regions"]:
        if [tuple(point) for point in poly] == _WHOLE_IMAGE:
            cv.fill(tuple(colour), stuff_id[name])
        else:
            cv.polygon([v * cv.side for point in poly for v in point], tuple(colour), stuff_id[name])


@lru_cache(maxsize=8)
def _noise_bank(size: int) -> dict[str, np.ndarray]:
    """Fixed noise fields twice the image side, from which each scene crops its own window.

    Cropping a shared, seeded bank is what keeps rendering fast: drawing fresh smooth noise for
    every image would cost more than drawing the image.
    """
    rng = np.random.default_rng(20240601)
    side = 2 * size

    def smooth(cells: int) -> np.ndarray:
        grid = Image.fromarray(rng.standard_normal((2 * cells + 1, 2 * cells + 1)).astype(np.float32), mode="F")
        return np.asarray(grid.resize((side, side), Image.Resampling.BILINEAR), dtype=np.float32)

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    return {
        "coarse": smooth(3),
        "medium": smooth(4),
        "fine": smooth(10),
        "white": rng.standard_normal((side, side, 4)).astype(np.float32),
        "yy": yy,
        "xx": xx,
    }


def _crop(field: np.ndarray, offset: list[int], size: int) -> np.ndarray:
    return field[offset[0] : offset[0] + size, offset[1] : offset[1] + size]


def _texture(stuff: np.ndarray, layout: dict, offsets: list[list[int]], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Brightness texture and sensor noise for one image.

    stuff: (H, W) index into :data:`STUFF_CLASSES`, -1 on objects. Returns a (H, W) factor
    (grain on tables, tufts on grass, grit on roads, a gradient in the sky) and (H, W, 3)
    unit noise.
    """
    bank = _noise_bank(size)
    white = _crop(bank["white"], offsets[0], size)
    tex = 1.0 + 0.06 * _crop(bank["medium"], offsets[1], size)
    grass, road, table, sky = (stuff == STUFF_CLASSES.index(n) for n in ("grass", "road", "table", "sky"))
    tex += grass * (0.1 * white[..., 3] + 0.08 * _crop(bank["fine"], offsets[2], size))
    tex += road * (0.07 * white[..., 3])
    if layout.get("grain"):
        a = layout["grain_angle"]
        phase = (bank["xx"] * math.cos(a) + bank["yy"] * math.sin(a)) * layout["grain_freq"]
        tex += table * (layout["grain"] * np.sin(phase + 2.0 * _crop(bank["coarse"], offsets[3], size)))
    tex += sky * (0.25 * (bank["yy"] - 0.3))
    if "windows" in layout:  # only streets have facades; other scenes skip the work
        tex += _window_texture(stuff, layout, size)
    return tex, white[..., :3]


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def render(scene: Scene) -> Rendered:
    """Draw a scene and derive all of its annotations from the same id layer.

    Returns a :class:`Rendered` with the image (H, W, 3) uint8 and the masks, labels and
    boxes described there. Pure: the same scene always gives the same bytes.
    """
    if "crowd" in scene.layout:
        return _render_crowd(scene)
    spec = SPECS[scene.dataset]
    size, ss = scene.size, SUPERSAMPLE
    background = _STUFF_ID["background"]
    cv = _Canvas(size * ss, (0, 0, 0), background)
    _draw_layout(cv, scene.layout, _STUFF_ID)
    full_area = np.full(len(scene.things), -1, dtype=np.int64)  # -1: not drawn over, see below
    layers: list[tuple[Thing, int]] = [(d, background) for d in scene.distractors if not d.style.get("over")]
    layers += [(t, _INSTANCE_BASE + k) for k, t in enumerate(scene.things)]
    layers += [(d, background) for d in scene.distractors if d.style.get("over")]
    for i, (thing, ident) in enumerate(layers):
        _DRAW[thing.kind](cv, thing, ident)
        if ident >= _INSTANCE_BASE and i < len(layers) - 1:
            full_area[ident - _INSTANCE_BASE] = cv.area(ident, around=thing)

    rgb, ids, counts = cv.downsample(size)
    n = len(scene.things)
    far = _INSTANCE_BASE + _FAR_PART
    visible_hi = np.array(counts[_INSTANCE_BASE : _INSTANCE_BASE + n]) + np.array(counts[far : far + n], dtype=int)
    # Nothing is drawn over the last layer, so all of it that was drawn is still in view.
    full_area = np.where(full_area < 0, visible_hi, full_area)
    visible_fraction = visible_hi / np.maximum(full_area, 1)

    # Look-up tables from the id layer to the annotations: stuff ids name a stuff class,
    # object ids an instance (and through it the object's class).
    to_instance = np.zeros(256, dtype=np.uint8)
    to_instance[_INSTANCE_BASE : _INSTANCE_BASE + n] = np.arange(1, n + 1)
    to_instance[far : far + n] = np.arange(1, n + 1)
    to_semantic = _stuff_to_semantic(spec.semantic_classes).copy()
    for k, t in enumerate(scene.things):
        to_semantic[_INSTANCE_BASE + k] = to_semantic[far + k] = spec.semantic_classes.index(t.kind)
    instances, semantic, stuff = to_instance[ids], to_semantic[ids], _ID_TO_STUFF[ids]

    tex, noise = _texture(stuff, scene.layout, scene.texture_offsets, size)
    rgb = rgb * (tex * scene.layout["contrast"])[..., None] + scene.layout["brightness"]
    rgb += noise * scene.layout["noise"]
    image = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)

    labels = np.array([spec.categories.index(t.kind) for t in scene.things], dtype=np.int64)
    boxes = boxes_from_instances(instances, len(scene.things))
    return Rendered(
        image=image,
        instances=instances,
        semantic=semantic,
        labels=labels,
        boxes=boxes,
        label=_main_label(spec, scene, instances),
        visible_fraction=visible_fraction,
        keypoints=_keypoints(cv, scene, len(spec.keypoints)) if spec.keypoints else None,
    )


_ID_TO_STUFF = np.full(256, -1, dtype=np.int64)
_ID_TO_STUFF[1 : len(STUFF_CLASSES) + 1] = np.arange(len(STUFF_CLASSES))
"""Id layer value -> index into :data:`STUFF_CLASSES` (-1 for objects and unused ids)."""


@cache
def _stuff_to_semantic(classes: tuple[str, ...]) -> np.ndarray:
    """(256,) uint8: the index into ``classes`` (a dataset's semantic classes) of each stuff id
    (0 for everything else). Keyed by the classes, not the dataset's name, so that a spec
    registered again under the same name never meets a stale table."""
    table = np.zeros(256, dtype=np.uint8)
    for i, name in enumerate(STUFF_CLASSES):
        table[i + 1] = classes.index(name) if name in classes else 0
    return table


def boxes_from_instances(instances: np.ndarray, count: int) -> np.ndarray:
    """(count, 4) float32 XYXY boxes around the pixels of each instance id 1..count.

    A box runs from the left/top edge of the first pixel to the right/bottom edge of the last,
    so ``x2 - x1`` is the width in pixels (the COCO convention). Absent ids get zeros.
    """
    h, w = instances.shape
    hit = instances == np.arange(1, count + 1, dtype=instances.dtype)[:, None, None]  # (count, H, W)
    rows, cols = hit.any(axis=2), hit.any(axis=1)  # which rows / columns each instance touches
    # first touched row/column, and one past the last (found as the first from the far end)
    boxes = np.stack([cols.argmax(1), rows.argmax(1), w - cols[:, ::-1].argmax(1), h - rows[:, ::-1].argmax(1)], 1)
    return (boxes * rows.any(1)[:, None]).astype(np.float32)


def _main_label(spec: ToySpec, scene: Scene, instances: np.ndarray) -> int:
    """The class of the object with the most visible pixels (0-based into ``spec.classes``)."""
    if not scene.things:
        return 0
    counts = np.bincount(instances.ravel(), minlength=len(scene.things) + 1)[1:]
    return spec.classes.index(scene.things[int(np.argmax(counts))].kind)


# --------------------------------------------------------------------------------------------
# Scene samplers: what each dataset draws
# --------------------------------------------------------------------------------------------

COATS = [
    (222, 140, 60),
    (125, 82, 50),
    (42, 38, 38),
    (236, 230, 218),
    (150, 150, 152),
    (214, 190, 140),
    (92, 62, 40),
    (180, 120, 80),
]
"""Coat colours shared by cats and dogs, so colour never gives the class away."""

WALLS = [(200, 190, 170), (170, 180, 195), (215, 205, 185), (150, 160, 150), (190, 170, 175), (120, 110, 100)]
WOODS = [(160, 110, 60), (120, 80, 45), (190, 150, 100), (140, 100, 70), (205, 200, 195), (110, 115, 125)]
BRIGHT = [(220, 40, 40), (40, 90, 210), (240, 200, 30), (60, 170, 80), (200, 60, 180), (240, 120, 20)]


def _pick(rng: np.random.Generator, options: list) -> tuple:
    return tuple(options[int(rng.integers(len(options)))])


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: float = 18) -> tuple[int, int, int]:
    r, g, b = (int(min(255.0, max(0.0, c + d))) for c, d in zip(colour, rng.normal(0, amount, 3).tolist()))
    return r, g, b


def _texture_offsets(rng: np.random.Generator, size: int) -> list[list[int]]:
    """Where this scene's window into each of the four shared noise fields starts."""
    return (rng.random((4, 2)) * size).astype(int).tolist()


def _photo(rng: np.random.Generator) -> dict:
    """Camera settings: contrast, brightness and sensor noise."""
    return {
        "contrast": float(rng.uniform(0.8, 1.15)),
        "brightness": float(rng.uniform(-20, 20)),
        "noise": float(rng.uniform(1.0, 7.0)),
    }


def _horizon_layout(
    rng: np.random.Generator, top: str, bottom: str, top_colour, bottom_colour, lo: float, hi: float
) -> list:
    """Two regions split by a slightly tilted line at a height between ``lo`` and ``hi``."""
    y0, y1 = rng.uniform(lo, hi, 2)
    return [
        (top, top_colour, [(0, 0), (1, 0), (1, 1), (0, 1)]),
        (bottom, bottom_colour, [(0, y0), (1, y1), (1, 1), (0, 1)]),
    ]


_BLOB_LOW = np.array([-0.3, -0.2, 0.2, 0.8])
_BLOB_SPAN = np.array([0.6, 0.4, 0.15, 0.35])
"""Circles of a clustered blob: x, y and radius in blob units, and shade, from LOW to LOW + SPAN."""


def _blob_distractor(
    rng: np.random.Generator, x: float, y: float, scale: float, colour, over: bool, n: int = 1, squash: float = 1.0
) -> Thing:
    circles = [(0.0, 0.0, 0.5, 1.0)] if n == 1 else (rng.random((n, 4)) * _BLOB_SPAN + _BLOB_LOW).tolist()
    return Thing("blob", x, y, scale, colour=colour, style={"circles": circles, "over": over, "squash": squash})


def _box_distractor(
    rng: np.random.Generator, x: float, y: float, scale: float, colour, over: bool, aspect: float, stripes: int = 0
) -> Thing:
    style = {
        "half": (0.5, 0.5 * aspect),
        "over": over,
        "stripes": [float(v) for v in np.linspace(-0.4 * aspect, 0.4 * aspect, stripes)] if stripes else [],
        "stripe_colour": (150, 170, 210),
    }
    return Thing("box", x, y, scale, angle=float(rng.uniform(0, 180)), colour=colour, style=style)


def _pet(rng: np.random.Generator, kind: str) -> Thing:
    coat = _jitter(rng, _pick(rng, COATS), 12)
    patch = _jitter(rng, _pick(rng, COATS), 12)
    flip = bool(rng.random() < 0.5)
    style = {
        "patch": patch,
        "has_patch": bool(rng.random() < 0.4),
        "leg": float(rng.uniform(0.0, 0.1)),
        "girth": float(rng.uniform(0.85, 1.2)),
        "head": float(rng.uniform(0.9, 1.2)),
        "ear": float(rng.uniform(0.7, 1.3)),
    }
    if kind == "cat":
        style["tail"] = [(-0.42, -0.02), (-0.6, -0.12), (-0.66, -0.3), (-0.6 + rng.uniform(-0.1, 0.1), -0.45)]
    else:
        wag = rng.uniform(-0.25, 0.1)
        style["tail"] = [(-0.42, -0.02), (-0.58, wag - 0.05), (-0.68, wag - 0.12)]
        style.update(
            snout=float(rng.uniform(0.7, 1.3)),
            tongue=bool(rng.random() < 0.4),
            ear_colour=_shade(patch if rng.random() < 0.5 else coat, 0.75),
        )
    scale = float(rng.uniform(0.4, 0.62))
    # Keep the animal (about 1.5 x 1 units) in the frame, give or take a paw.
    x = float(rng.uniform(0.72 * scale - 0.05, 1.05 - 0.72 * scale))
    y = float(rng.uniform(0.55 * scale, 1.0 - 0.45 * scale))
    return Thing(kind, x, y, scale, angle=float(rng.uniform(-20, 20)), flip=flip, colour=coat, style=style)


def sample_pets(rng: np.random.Generator, size: int) -> Scene:
    """One cat or dog, indoors (wall and floor) or outdoors (sky and grass), with toys."""
    if rng.random() < 0.5:
        regions = _horizon_layout(
            rng, "sky", "grass", _jitter(rng, (150, 195, 235)), _jitter(rng, (90, 150, 60)), 0.3, 0.6
        )
    else:
        regions = _horizon_layout(
            rng,
            "background",
            "background",
            _jitter(rng, _pick(rng, WALLS)),
            _jitter(rng, _pick(rng, WOODS)),
            0.45,
            0.75,
        )
    kind = "cat" if rng.random() < 0.5 else "dog"
    distractors = []
    for _ in range(int(rng.integers(0, 3))):
        over = bool(rng.random() < 0.3)
        distractors.append(
            _blob_distractor(
                rng,
                float(rng.uniform(0.05, 0.95)),
                float(rng.uniform(0.5, 0.95)),
                float(rng.uniform(0.1, 0.2)),
                _pick(rng, BRIGHT),
                over,
            )
        )
    return Scene(
        "toy-pets",
        size,
        {"regions": regions, **_photo(rng)},
        [_pet(rng, kind)],
        distractors,
        _texture_offsets(rng, size),
    )


def _place(
    rng: np.random.Generator,
    others: list[Thing],
    scale: float,
    xs: tuple[float, float],
    ys: tuple[float, float],
    radius: float,
    tries: int = 8,
) -> tuple[float, float]:
    """A random centre in the box ``xs`` × ``ys`` that does not bury, or get buried by, ``others``.

    Objects may overlap, but centres stay at least 0.6 of the two radii apart (radius = ``radius``
    × scale), so each keeps most of itself in view; after ``tries`` misses the last draw is kept
    (the visibility check in :func:`generate` has the final word).
    """
    for _ in range(tries):
        x, y = float(rng.uniform(*xs)), float(rng.uniform(*ys))
        if all(math.hypot(x - o.x, y - o.y) >= 0.6 * radius * (scale + o.scale) for o in others):
            break
    return x, y


def _fruit(rng: np.random.Generator, kind: str, x: float, y: float, scale: float) -> Thing:
    if kind == "apple":
        colour = _jitter(
            rng, _pick(rng, [(200, 30, 35), (150, 25, 35), (125, 185, 60), (225, 195, 70), (215, 80, 40)]), 12
        )
        blush = _jitter(rng, (190, 40, 40)) if rng.random() < 0.3 else None
        style: dict[str, object] = {"leaf": bool(rng.random() < 0.6), "blush": blush}
        angle = float(rng.uniform(-30, 30))
    else:
        colour = _jitter(rng, _pick(rng, [(245, 150, 30), (235, 125, 20), (250, 175, 45), (235, 190, 50)]), 10)
        dimples = [(float(a), float(b)) for a, b in rng.uniform(-0.28, 0.28, (8, 2))]
        calyx = (float(rng.uniform(-0.1, 0.1)), float(rng.uniform(-0.15, 0.1)))
        style = {"dimples": dimples, "calyx": calyx}
        angle = float(rng.uniform(0, 360))
    return Thing(kind, x, y, scale, angle=angle, colour=colour, style=style)


def sample_fruit(rng: np.random.Generator, size: int) -> Scene:
    """One to six apples and oranges on a table, some overlapping, with plates and napkins."""
    regions = _horizon_layout(
        rng, "background", "table", _jitter(rng, _pick(rng, WALLS)), _jitter(rng, _pick(rng, WOODS)), -0.1, 0.3
    )
    layout = {
        "regions": regions,
        "grain": float(rng.uniform(0.0, 0.12)),
        "grain_angle": float(rng.uniform(-0.3, 0.3)),
        "grain_freq": float(rng.uniform(25, 60)),
        **_photo(rng),
    }
    distractors = []
    for _ in range(int(rng.integers(0, 3))):
        if rng.random() < 0.5:
            distractors.append(
                _blob_distractor(
                    rng,
                    float(rng.uniform(0.1, 0.9)),
                    float(rng.uniform(0.3, 0.9)),
                    float(rng.uniform(0.3, 0.5)),
                    _jitter(rng, (235, 235, 230), 8),
                    False,
                    squash=float(rng.uniform(0.6, 1.0)),
                )
            )
        else:
            distractors.append(
                _box_distractor(
                    rng,
                    float(rng.uniform(0.1, 0.9)),
                    float(rng.uniform(0.3, 0.9)),
                    float(rng.uniform(0.25, 0.4)),
                    _pick(rng, BRIGHT),
                    False,
                    0.8,
                )
            )
    things: list[Thing] = []
    for _ in range(int(rng.integers(1, 7))):
        kind = "apple" if rng.random() < 0.5 else "orange"
        scale = float(rng.uniform(0.14, 0.34))
        x, y = _place(rng, things, scale, (0.1, 0.9), (0.15, 0.9), radius=0.42)
        things.append(_fruit(rng, kind, x, y, scale))
    things.sort(key=lambda t: t.y)
    return Scene("toy-fruit", size, layout, things, distractors, _texture_offsets(rng, size))


_WOOL_LOW = np.array([-0.3, -0.15, 0.14, 0.88])
_WOOL_SPAN = np.array([0.6, 0.26, 0.07, 0.18])
"""Wool tufts of a sheep: x, y and radius in sheep units, and shade, from LOW to LOW + SPAN."""


def _sheep(rng: np.random.Generator, x: float, y: float, scale: float) -> Thing:
    n = int(rng.integers(6, 10))
    tufts = (rng.random((n, 4)) * _WOOL_SPAN + _WOOL_LOW).round(4).tolist()
    wool = sorted(tufts + [[-0.2, -0.02, 0.2, 1.0], [0.12, -0.02, 0.2, 1.0]], key=lambda tuft: tuft[1])  # back first
    style = {
        "wool": wool,
        "head_colour": _jitter(rng, _pick(rng, [(30, 28, 28), (55, 40, 32), (75, 70, 65)]), 6),
        "head_drop": float(rng.uniform(-0.05, 0.1)),
    }
    colour = _jitter(rng, _pick(rng, [(238, 236, 228), (222, 214, 196), (205, 203, 198)]), 6)
    return Thing(
        "sheep",
        x,
        y,
        scale,
        angle=float(rng.uniform(-10, 10)),
        flip=bool(rng.random() < 0.5),
        colour=colour,
        style=style,
    )


def sample_pasture(rng: np.random.Generator, size: int) -> Scene:
    """Sheep on grass beside a road under the sky, with bushes and fence posts; some sheep touch."""
    horizon = rng.uniform(0.15, 0.4, 2).tolist()  # where the grass meets the sky, left and right
    sky = ("sky", _jitter(rng, (135, 185, 235)), [(0, 0), (1, 0), (1, 1), (0, 1)])
    grass = ("grass", _jitter(rng, (95, 155, 60)), [(0, horizon[0]), (1, horizon[1]), (1, 1), (0, 1)])
    hill = (
        "background",
        _jitter(rng, (70, 100, 80)),
        [
            (0, horizon[0] + 0.01),
            (0, horizon[0] - 0.08),
            (0.4, (horizon[0] + horizon[1]) / 2 - rng.uniform(0.02, 0.1)),
            (1, horizon[1] - 0.05),
            (1, horizon[1] + 0.01),
        ],
    )
    top, width, slope = rng.uniform(0.5, 0.8), rng.uniform(0.12, 0.22), rng.uniform(-0.15, 0.15)
    road_colour = _jitter(rng, _pick(rng, [(105, 105, 110), (80, 80, 85), (150, 130, 105)]), 8)
    road = ("road", road_colour, [(0, top), (1, top + slope), (1, top + slope + width * 1.3), (0, top + width)])
    mid = top + width * 0.55
    dashes = [
        (
            "road",
            (235, 225, 190),
            [
                (x, mid + slope * x - 0.008),
                (x + 0.1, mid + slope * (x + 0.1) - 0.008),
                (x + 0.1, mid + slope * (x + 0.1) + 0.008),
                (x, mid + slope * x + 0.008),
            ],
        )
        for x in np.arange(rng.uniform(0, 0.2), 1, 0.22)
    ]
    clouds = [
        ("sky", (245, 245, 250), _ellipse(cx, cy, rx, 0.03).tolist())
        for cx, cy, rx in zip(rng.uniform(0, 1, 2), rng.uniform(0.03, 0.1, 2), rng.uniform(0.06, 0.14, 2))
    ]
    layout = {"regions": [sky, *clouds, grass, hill, road, *dashes], **_photo(rng)}
    distractors = []
    for _ in range(int(rng.integers(0, 3))):
        x, y = float(rng.uniform(0, 1)), float(rng.uniform(max(horizon), 0.95))
        if rng.random() < 0.5:
            distractors.append(
                _blob_distractor(rng, x, y, float(rng.uniform(0.12, 0.22)), _jitter(rng, (40, 95, 40)), False, n=5)
            )
        else:
            distractors.append(
                Thing(
                    "box",
                    x,
                    y,
                    float(rng.uniform(0.12, 0.2)),
                    colour=_jitter(rng, (115, 80, 50)),
                    style={"half": (0.08, 0.5), "over": False},
                )
            )
    things: list[Thing] = []
    for _ in range(int(rng.integers(1, 5))):
        scale = float(rng.uniform(0.2, 0.36))
        if things and rng.random() < 0.35:
            other = things[int(rng.integers(len(things)))]
            side = 1 if rng.random() < 0.5 else -1
            x = other.x + side * (other.scale + scale) * 0.42
            y = other.y + float(rng.uniform(-0.04, 0.04))
        else:
            x, y = _place(rng, things, scale, (0.1, 0.9), (max(horizon) + 0.08, 0.88), radius=0.35)
        things.append(_sheep(rng, min(max(x, 0.05), 0.95), y, scale))
    things.sort(key=lambda t: t.y)
    return Scene("toy-pasture", size, layout, things, distractors, _texture_offsets(rng, size))


PEN_COLOURS = [
    (30, 60, 200),
    (200, 30, 30),
    (25, 25, 25),
    (30, 150, 60),
    (120, 50, 160),
    (240, 140, 20),
    (235, 235, 235),
    (60, 170, 220),
]


def _pen(rng: np.random.Generator, x: float, y: float, angle: float, length: float) -> Thing:
    """A pen of ``length`` (fraction of the image) centred on (x, y), turned ``angle`` degrees."""
    body = _jitter(rng, _pick(rng, PEN_COLOURS), 10)
    cap = body if rng.random() < 0.5 else _jitter(rng, _pick(rng, PEN_COLOURS), 10)
    style = {"width": float(rng.uniform(0.045, 0.075) / length * 0.6), "cap_colour": cap}
    return Thing("pen", x, y, length, angle=angle, colour=body, style=style)


def _pen_ends(t: Thing) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2): the two ends of a pen's centre line."""
    dx = math.cos(math.radians(t.angle)) * t.scale / 2
    dy = math.sin(math.radians(t.angle)) * t.scale / 2
    return t.x - dx, t.y - dy, t.x + dx, t.y + dy


def _pens_cross(a: Thing, b: Thing) -> bool:
    """Whether two pens' centre lines intersect (each a segment of length ``scale``)."""
    ax1, ay1, ax2, ay2 = _pen_ends(a)
    bx1, by1, bx2, by2 = _pen_ends(b)

    def side(ox: float, oy: float, px: float, py: float, qx: float, qy: float) -> float:
        return (px - ox) * (qy - oy) - (py - oy) * (qx - ox)

    return (
        side(ax1, ay1, ax2, ay2, bx1, by1) * side(ax1, ay1, ax2, ay2, bx2, by2) < 0
        and side(bx1, by1, bx2, by2, ax1, ay1) * side(bx1, by1, bx2, by2, ax2, ay2) < 0
    )


def _pen_pose(rng: np.random.Generator, others: list[Thing], cross: bool) -> Thing:
    """Where the next pen lies (colours not drawn yet): crossing one of ``others``, or anywhere."""
    length = float(rng.uniform(0.45, 0.8))
    if not cross:
        return Thing(
            "pen", float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8)), length, angle=float(rng.uniform(0, 180))
        )
    other = others[int(rng.integers(len(others)))]
    along, a = float(rng.uniform(-0.3, 0.3)) * other.scale, math.radians(other.angle)
    angle = other.angle + (1 if rng.random() < 0.5 else -1) * float(rng.uniform(25, 90))
    shift, b = float(rng.uniform(-0.25, 0.25)) * length, math.radians(angle)
    return Thing(
        "pen",
        other.x + along * math.cos(a) + shift * math.cos(b),
        other.y + along * math.sin(a) + shift * math.sin(b),
        length,
        angle=angle,
    )


def sample_pens(rng: np.random.Generator, size: int) -> Scene:
    """Two to four pens on a desk among papers; about a third of pens cross another."""
    colour = _jitter(rng, _pick(rng, WOODS))
    layout = {
        "regions": [("table", colour, [(0, 0), (1, 0), (1, 1), (0, 1)])],
        "grain": float(rng.uniform(0, 0.1)),
        "grain_angle": float(rng.uniform(0, math.pi)),
        "grain_freq": float(rng.uniform(25, 60)),
        **_photo(rng),
    }
    distractors = []
    for _ in range(int(rng.integers(0, 3))):
        paper = _pick(rng, [(245, 245, 240), (250, 240, 150), (235, 230, 215)])
        distractors.append(
            _box_distractor(
                rng,
                float(rng.uniform(0.1, 0.9)),
                float(rng.uniform(0.1, 0.9)),
                float(rng.uniform(0.3, 0.55)),
                _jitter(rng, paper, 5),
                False,
                float(rng.uniform(0.7, 1.4)),
                stripes=int(rng.integers(0, 5)),
            )
        )
    things: list[Thing] = []
    for _ in range(int(rng.integers(2, 5))):
        want_cross = bool(things) and rng.random() < 0.3
        for _attempt in range(20):
            pose = _pen_pose(rng, things, want_cross)
            crosses = any(_pens_cross(pose, o) for o in things)
            clear = not any(_too_close(pose, o) for o in things)
            inside = all(0.02 < v < 0.98 for v in _pen_ends(pose))
            if inside and clear and crosses == want_cross:
                things.append(_pen(rng, pose.x, pose.y, pose.angle, pose.scale))
                break
    return Scene("toy-pens", size, layout, things, distractors, _texture_offsets(rng, size))


def _too_close(a: Thing, b: Thing) -> bool:
    """Whether two pens run nearly parallel and so close that they would merge."""
    da = abs((a.angle - b.angle + 90) % 180 - 90)
    return da < 20 and math.hypot(a.x - b.x, a.y - b.y) < 0.12


# --------------------------------------------------------------------------------------------
# The street: articulated people with keypoints, and cars
# --------------------------------------------------------------------------------------------

PERSON_KEYPOINTS = (
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
"""A person's joints, in this order (COCO's keypoints without eyes and ears; "head" is the centre of the head)."""

PERSON_SKELETON = (
    (0, 1),
    (0, 2),
    (1, 2),
    (1, 3),
    (3, 5),
    (2, 4),
    (4, 6),
    (1, 7),
    (2, 8),
    (7, 8),
    (7, 9),
    (9, 11),
    (8, 10),
    (10, 12),
)
"""The bones: 0-based index pairs into :data:`PERSON_KEYPOINTS` (COCO's JSON is 1-based)."""

_SIDE_JOINTS = {"left": (1, 3, 5, 7, 9, 11), "right": (2, 4, 6, 8, 10, 12)}
_ARM_LENGTHS, _LEG_LENGTHS = (0.17, 0.15), (0.235, 0.235)


def _limb(
    start: tuple[float, float], angles: Sequence[float], lengths: tuple[float, float]
) -> list[tuple[float, float]]:
    """A two-segment limb from ``start``: angles in degrees from straight down, positive towards +x."""
    points = [start]
    for angle, length in zip(angles, lengths):
        x, y = points[-1]
        a = math.radians(angle)
        points.append((x + length * math.sin(a), y + length * math.cos(a)))
    return points


def _person_joints(t: Thing) -> list[tuple[float, float]]:
    """The 13 joints of :data:`PERSON_KEYPOINTS` in the person's local units (height 1, origin
    between the feet, y down). Seen from the front, the person's left is on the image's right."""
    st = t.style
    if "joints" in st:  # computed once by the sampler, read by the drawing and the keypoints
        return st["joints"]
    sign = {"front": 1.0, "back": -1.0, "side": 0.0}[st["view"]]  # where the person's left side is
    sw, hw = st["shoulders"] * sign, 0.06 * sign
    if st["view"] == "side":
        sw = hw = 0.012 * st["facing"] * (1 if st["far"] == "right" else -1)
    shoulders, hips = [(sw, -0.8), (-sw, -0.8)], [(hw, -0.5), (-hw, -0.5)]
    arms = [_limb(s, a, _ARM_LENGTHS) for s, a in zip(shoulders, st["arms"])]
    legs = [_limb(h, a, _LEG_LENGTHS) for h, a in zip(hips, st["legs"])]
    head = (0.012 * st["facing"], -0.91)
    return [head, *shoulders, arms[0][1], arms[1][1], arms[0][2], arms[1][2], *hips] + [
        legs[0][1],
        legs[1][1],
        legs[0][2],
        legs[1][2],
    ]


def _far_joints(t: Thing) -> tuple[int, ...]:
    """Indices of the joints on the side turned away from the camera (side views only)."""
    return _SIDE_JOINTS[t.style["far"]] if t.style["view"] == "side" else ()


def _draw_person(cv: _Canvas, t: Thing, ident: int) -> None:
    """Legs, torso, head and arms over a skeleton; in side views the far arm and leg are drawn
    first, darker and with the id ``ident + _FAR_PART``, so a joint the body hides is known."""
    st = t.style
    pose = _Pose(t, cv.side)
    j = _person_joints(t)
    skin, shirt, trousers, shoes = st["skin"], t.colour, st["trousers"], st["shoes"]
    facing = st["facing"]

    def leg(side: str, colour: tuple[int, int, int], i: int) -> None:
        hip, knee, ankle = (j[k] for k in _SIDE_JOINTS[side][3:])
        cv.line(pose([hip, knee, ankle]), st["leg_width"] * pose.unit, colour, i)
        toe = 0.03 * facing if st["view"] == "side" else 0.0
        cv.polygon(pose.ellipse(ankle[0] + toe, ankle[1] + 0.01, 0.03 + abs(toe), 0.025), shoes, i)

    def arm(side: str, colour: tuple[int, int, int], i: int) -> None:
        shoulder, elbow, wrist = (j[k] for k in _SIDE_JOINTS[side][:3])
        cv.line(pose([shoulder, elbow, wrist]), st["arm_width"] * pose.unit, colour, i)
        cv.disc(pose.point(*wrist), 0.032 * pose.unit, skin, i)

    near: tuple[str, ...] = ("left", "right")
    if st["view"] == "side":
        far = st["far"]
        near = ("right",) if far == "left" else ("left",)
        leg(far, _shade(trousers, 0.75), ident + _FAR_PART)
        arm(far, _shade(shirt, 0.75), ident + _FAR_PART)
    for side in near:
        leg(side, trousers, ident)
    w = st["shoulders"] + 0.025 if st["view"] != "side" else 0.07
    torso = [(-w, -0.825), (-0.03, -0.85), (0.03, -0.85), (w, -0.825), (w * 0.75, -0.46), (-w * 0.75, -0.46)]
    cv.polygon(pose(torso), shirt, ident)
    hx, hy = j[0]
    cv.disc(pose.point(hx, hy), st["head"] * pose.unit, skin, ident)
    hair = st["hair"]
    if st["view"] == "back":
        cv.disc(pose.point(hx, hy), st["head"] * 1.03 * pose.unit, hair, ident)
    else:
        back = -0.02 * facing if st["view"] == "side" else 0.0
        cv.polygon(pose.ellipse(hx + back, hy - 0.025, st["head"] * 1.02, st["head"] * 0.7), hair, ident)
    for side in near:
        arm(side, shirt, ident)


def _draw_car(cv: _Canvas, t: Thing, ident: int) -> None:
    """A side view: body, cabin with two windows, wheels with hubs, head and tail lights.
    Local units: the car's length; origin under its middle at the ground; faces +x (``flip``: -x)."""
    pose = _Pose(t, cv.side)
    body = t.colour
    cv.polygon(
        pose([(-0.5, -0.1), (-0.5, -0.27), (-0.32, -0.31), (0.35, -0.31), (0.5, -0.24), (0.5, -0.1)]), body, ident
    )
    cv.polygon(pose([(-0.3, -0.3), (-0.17, -0.48), (0.15, -0.48), (0.3, -0.3)]), _shade(body, 0.9), ident)
    glass = t.style["glass"]
    cv.polygon(pose([(-0.26, -0.31), (-0.15, -0.45), (-0.02, -0.45), (-0.02, -0.31)]), glass, ident)
    cv.polygon(pose([(0.02, -0.31), (0.02, -0.45), (0.13, -0.45), (0.25, -0.31)]), glass, ident)
    cv.polygon(pose(_rect(0.46, -0.24, 0.5, -0.2)), (250, 235, 160), ident)
    cv.polygon(pose(_rect(-0.5, -0.25, -0.47, -0.2)), (200, 30, 30), ident)
    for x in (-0.3, 0.3):
        cv.disc(pose.point(x, -0.1), 0.1 * pose.unit, (25, 25, 28), ident)
        cv.disc(pose.point(x, -0.1), 0.045 * pose.unit, (150, 150, 155), ident)


_DRAW["person"] = _draw_person
_DRAW["car"] = _draw_car


def _keypoints(cv: _Canvas, scene: Scene, count: int) -> np.ndarray:
    """(N, K, 3) float32 keypoints of every object: x, y in output pixels and COCO's visibility.

    v = 2 where the joint's pixel shows its own person, 1 where another object (or, for a far-side
    joint, the person's own body) covers it, 0 (and x = y = 0) outside the picture; objects without
    joints (cars) get all-zero rows. Read from the finished high-resolution id layer.
    """
    out = np.zeros((len(scene.things), count, 3), dtype=np.float32)
    ids = np.asarray(cv.image.getchannel(3))
    background = _STUFF_ID["background"]
    for k, t in enumerate(scene.things):
        if t.kind != "person":
            continue
        pose, own, far = _Pose(t, cv.side), _INSTANCE_BASE + k, _INSTANCE_BASE + _FAR_PART + k
        far_joints = _far_joints(t)
        for j, (lx, ly) in enumerate(_person_joints(t)):
            x, y = pose.point(lx, ly)
            if not (0 <= x < cv.side and 0 <= y < cv.side):
                continue
            shown = int(ids[int(y), int(x)])
            # a joint on a stuff pixel sits on its limb's anti-aliased edge: nothing covers it
            hidden = shown == background or (shown >= _INSTANCE_BASE and shown != (far if j in far_joints else own))
            if j in far_joints and shown == far:
                hidden = False
            out[k, j] = (x / SUPERSAMPLE, y / SUPERSAMPLE, 1 if hidden else 2)
    return out


SKINS = [(255, 220, 190), (235, 190, 150), (200, 150, 110), (150, 100, 70), (100, 65, 45)]
HAIRS = [(30, 25, 20), (80, 50, 30), (150, 110, 60), (220, 200, 140), (120, 120, 120), (160, 60, 30)]
TROUSERS = [(40, 50, 90), (30, 30, 35), (110, 100, 80), (70, 70, 75), (150, 140, 120), (60, 80, 60)]
BUILDINGS = [(180, 120, 90), (200, 190, 170), (150, 150, 160), (210, 180, 130), (120, 90, 80), (170, 180, 175)]
CARS = [(200, 30, 30), (30, 60, 160), (230, 230, 230), (30, 30, 30), (150, 150, 155), (230, 190, 40), (40, 120, 70)]


def _person_pose(rng: np.random.Generator, view: str, facing: int) -> dict:
    """Arm and leg angles (degrees from straight down, + towards image +x), left limb first."""
    u = rng.uniform
    action = ("stand", "walk", "walk", "raise")[int(rng.integers(4))]
    if view != "side":
        s = 1.0 if view == "front" else -1.0  # the person's left limbs splay towards +x
        arms = [[s * u(4, 12), 0.0], [-s * u(4, 12), 0.0]]
        for i, side in enumerate((s, -s)):
            arms[i][1] = arms[i][0] + side * u(-5, 25 if action == "walk" else 10)
        legs = [[s * u(1, 7)] * 2, [-s * u(1, 7)] * 2]
        if action == "raise":
            for i in [int(rng.integers(2))] if rng.random() < 0.6 else [0, 1]:
                side = s if i == 0 else -s
                arms[i][0] = side * u(100, 165)
                arms[i][1] = arms[i][0] + side * u(-10, 30)
        return {"arms": arms, "legs": legs, "action": action}
    d = float(facing)
    swing = u(-1, 1) * u(18, 32) if action == "walk" else u(-4, 4)
    near, far = (1, 0) if facing == 1 else (0, 1)  # facing right, the right side is nearer
    leg_angles = {near: d * swing, far: -d * swing}
    arm_angles = {near: -0.8 * d * swing, far: 0.8 * d * swing}
    legs, arms = [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]
    for i in (0, 1):
        back = d * leg_angles[i] < 0  # the trailing leg bends at the knee
        legs[i] = [leg_angles[i], leg_angles[i] - d * (u(10, 35) if back and action == "walk" else u(0, 5))]
        arms[i] = [arm_angles[i], arm_angles[i] + d * u(5, 35)]
    if action == "raise":
        i = near if rng.random() < 0.5 else far
        arms[i] = [d * u(80, 165), 0.0]
        arms[i][1] = arms[i][0] + d * u(-10, 25)
    return {"arms": arms, "legs": legs, "action": action}


def _person(rng: np.random.Generator, x: float, y: float, height: float) -> Thing:
    """A person standing with feet at (x, y), ``height`` tall (fractions of the image)."""
    view = ("front", "back", "side", "side")[int(rng.integers(4))]
    facing = 1 if rng.random() < 0.5 else -1
    style = {
        "view": view,
        "facing": facing if view == "side" else 0,
        "far": ("left" if facing == 1 else "right") if view == "side" else "",
        **_person_pose(rng, view, facing),
        "shoulders": float(rng.uniform(0.09, 0.115)),
        "head": float(rng.uniform(0.06, 0.072)),
        "arm_width": float(rng.uniform(0.05, 0.065)),
        "leg_width": float(rng.uniform(0.065, 0.085)),
        "skin": _jitter(rng, _pick(rng, SKINS), 8),
        "hair": _jitter(rng, _pick(rng, HAIRS), 8),
        "trousers": _jitter(rng, _pick(rng, TROUSERS), 10),
        "shoes": _jitter(rng, (40, 35, 30), 10),
    }
    shirt = _jitter(rng, _pick(rng, BRIGHT + [(240, 240, 235), (60, 60, 70)]), 15)
    person = Thing("person", x, y, height, colour=shirt, style=style)
    style["joints"] = _person_joints(person)
    return person


def _street_layout(rng: np.random.Generator) -> tuple[dict, float, float, float]:
    """Sky, a row of buildings, the pavement and the road; returns the layout and the heights
    (fractions of the image) where the buildings stand, where the kerb is, and the horizon."""
    kerb = float(rng.uniform(0.62, 0.74))
    base = kerb - float(rng.uniform(0.13, 0.2))
    horizon = base - float(rng.uniform(0.14, 0.2))
    regions: list = [("sky", _jitter(rng, (140, 185, 230)), _WHOLE_IMAGE)]
    edges = np.sort(rng.uniform(0.1, 0.9, int(rng.integers(1, 4))))
    for x0, x1 in zip([-0.01, *edges], [*edges, 1.01]):
        top = float(rng.uniform(0.0, base - 0.2))
        regions.append(
            ("building", _jitter(rng, _pick(rng, BUILDINGS), 12), [(x0, top), (x1, top), (x1, base), (x0, base)])
        )
        door = float(rng.uniform(x0 + 0.02, max(x0 + 0.03, x1 - 0.1)))
        regions.append(
            (
                "building",
                (60, 45, 40),
                [(door, base - 0.09), (door + 0.06, base - 0.09), (door + 0.06, base), (door, base)],
            )
        )
    paving = _jitter(rng, (175, 170, 160), 10)
    regions.append(("pavement", paving, [(0, base), (1, base), (1, kerb), (0, kerb)]))
    regions.append(("pavement", _shade(paving, 1.25), [(0, kerb - 0.015), (1, kerb - 0.015), (1, kerb), (0, kerb)]))
    regions.append(("road", _jitter(rng, (85, 85, 90), 8), [(0, kerb), (1, kerb), (1, 1), (0, 1)]))
    lane = kerb + 0.6 * (1 - kerb)
    for x in np.arange(rng.uniform(-0.1, 0.1), 1, 0.25):
        regions.append(
            ("road", (235, 235, 225), [(x, lane), (x + 0.13, lane), (x + 0.13, lane + 0.012), (x, lane + 0.012)])
        )
    windows = {
        "freq": (float(rng.uniform(7, 12)), float(rng.uniform(6, 10))),
        "phase": (float(rng.uniform(0, 1)), float(rng.uniform(0, 1))),
        "base": base,
    }
    return {"regions": regions, "windows": windows, **_photo(rng)}, base, kerb, horizon


def sample_street(rng: np.random.Generator, size: int) -> Scene:
    """One to five people (walking, standing, arms raised; front, back and side views, some in
    groups) on the pavement or crossing, zero to two cars, lamp posts and bins; people overlap
    one another and the cars. Sizes follow the perspective of a camera at eye height."""
    layout, base, kerb, horizon = _street_layout(rng)
    things: list[Thing] = []
    for _ in range(int(rng.integers(0, 3))):
        y = float(rng.uniform(kerb + 0.07, min(1.0, kerb + 0.2)))
        length = 1.1 * (y - horizon)
        # at most a fifth of a car out of view, and never parked right in front of another car
        x, _ = _place(rng, things, length, (0.3 * length, 1 - 0.3 * length), (y, y), radius=0.9)
        car = Thing("car", x, y, length, flip=bool(rng.random() < 0.5))
        car.colour = _jitter(rng, _pick(rng, CARS), 12)
        car.style = {"glass": _jitter(rng, (150, 180, 200), 10)}
        things.append(car)
    people: list[Thing] = []
    for _ in range(int(rng.integers(1, 6))):
        y = float(rng.uniform(base + 0.04, kerb + 0.01) if rng.random() < 0.75 else rng.uniform(kerb + 0.05, 0.97))
        if people and rng.random() < 0.4:  # walk beside (and partly behind) someone
            x = people[-1].x + float(rng.choice([-1, 1]) * rng.uniform(0.05, 0.12))
        else:
            for _attempt in range(8):  # cars may hide a person's legs, not all of them
                x = float(rng.uniform(0.06, 0.94))
                if not any(c.y > y and abs(c.x - x) < 0.3 * c.scale for c in things):
                    break
        people.append(_person(rng, x, y, (y - horizon) * float(rng.uniform(0.85, 1.0))))
    things = sorted(things + people, key=lambda t: t.y)
    distractors = []
    for _ in range(int(rng.integers(1, 3))):
        y = float(rng.uniform(base + 0.02, kerb))
        if rng.random() < 0.6:  # a lamp post, its foot on the pavement
            height = 0.9 * (y - horizon) * 1.8
            half = (0.018 / height, 0.5)
            colour = _jitter(rng, (60, 65, 70), 8)
        else:  # a bin
            height = 0.35 * (y - horizon)
            half = (0.25, 0.5)
            colour = _jitter(rng, _pick(rng, [(40, 90, 50), (70, 70, 75), (150, 120, 40)]), 8)
        over = bool(rng.random() < 0.5)
        box = Thing("box", float(rng.uniform(0.03, 0.97)), y - height / 2, height, colour=colour)
        box.style = {"half": half, "over": over}
        distractors.append(box)
    return Scene("toy-street", size, layout, things, distractors, _texture_offsets(rng, size))


def panoptic_ids(semantic: np.ndarray, instances: np.ndarray) -> np.ndarray:
    """(H, W) int64 panoptic ids: ``semantic * PANOPTIC_DIVISOR + instance``.

    Stuff pixels get ``class * 1000`` (instance 0), object pixels ``class * 1000 + k`` for
    instance k (1-based); the class is the index into ``semantic_classes``, so 0 is background,
    which COCO panoptic calls void (unlabelled).
    """
    return semantic.astype(np.int64) * PANOPTIC_DIVISOR + instances.astype(np.int64)


def _window_texture(stuff: np.ndarray, layout: dict, size: int) -> np.ndarray:
    """(H, W) brightness change of building facades: a grid of dark windows above the doors."""
    w = layout["windows"]
    (fx, fy), (px, py) = w["freq"], w["phase"]
    along = (np.arange(size, dtype=np.float32) + 0.5) / size
    columns = (along * fx + px) % 1 < 0.45
    rows = ((along * fy + py) % 1 < 0.5) & (along < w["base"] - 0.1)  # no windows beside the doors
    return (stuff == STUFF_CLASSES.index("building")) * (np.outer(rows, columns) * np.float32(-0.45))


# --------------------------------------------------------------------------------------------
# The crowd: hundreds of people a few pixels each, drawn all at once with NumPy
# --------------------------------------------------------------------------------------------

CROWD_SUPERSAMPLE = 2
"""The crowd is drawn at twice the output side (its people are a few pixels, drawn as arrays)."""

_HEAD_UP, _HEAD_R, _BODY_UP, _BODY_RX = 0.86, 0.12, 0.42, 0.18
"""A crowd person, in units of their height above the feet: head centre and radius, body
ellipse centre (its half-height is the same 0.42) and half-width."""


def sample_crowd(rng: np.random.Generator, size: int) -> Scene:
    """20 to 300 people on a plaza seen from above at an angle, in loose groups; benches and
    planters; sometimes a row of buildings at the far edge. The people are arrays in
    ``layout["crowd"]`` (``scene.things`` stays empty): x and y of the feet and height, as
    fractions of the image, shirt and hair colours (N, 3), whether the face shows."""
    n = int(rng.integers(20, 301))
    top = float(rng.uniform(0.05, 0.2)) if rng.random() < 0.5 else 0.0
    horizon = -float(rng.uniform(0.25, 0.6))
    k = float(rng.uniform(0.09, 0.12))  # height per unit of distance below the horizon
    regions: list = [("pavement", _jitter(rng, (170, 165, 150), 12), _WHOLE_IMAGE)]
    if top:
        regions.append(("building", _jitter(rng, _pick(rng, BUILDINGS), 12), [(0, 0), (1, 0), (1, top), (0, top)]))
    centres = rng.uniform(0.1, 0.9, (int(rng.integers(1, 6)), 2))
    group = rng.integers(len(centres), size=n)
    spread = rng.uniform(0.04, 0.15, len(centres))[group, None]
    heads = np.where(rng.random((n, 1)) < 0.6, centres[group] + rng.normal(0, 1, (n, 2)) * spread, rng.random((n, 2)))
    heads = 1 - np.abs(1 - np.abs(heads))  # reflect strays back into the picture
    heads[:, 1] = top + heads[:, 1] * (1 - top)
    heads = np.clip(heads, 0.0, 0.999)
    scale = k * rng.uniform(0.9, 1.1, n)
    # head y = feet y - UP * scale * (feet y - horizon), solved for the feet
    feet_y = (heads[:, 1] - _HEAD_UP * scale * horizon) / (1 - _HEAD_UP * scale)
    order = np.argsort(feet_y, kind="stable")  # far (higher up) first: the near ones hide them
    crowd = {
        "x": heads[order, 0],
        "y": feet_y[order],
        "h": (scale * (feet_y - horizon))[order],
        "shirt": rng.choice(np.array(BRIGHT + TROUSERS + [(235, 235, 230)]), n)[order] * rng.uniform(0.8, 1.1, (n, 1)),
        "hair": np.array(HAIRS)[rng.integers(len(HAIRS), size=n)][order],
        "face": (rng.random(n) < 0.5)[order],
    }
    distractors = []
    for _ in range(int(rng.integers(1, 4))):
        y = float(rng.uniform(max(top, 0.1), 0.95))
        width = 0.12 * (y - horizon) * float(rng.uniform(0.6, 1.2))
        colour = _jitter(rng, _pick(rng, [(120, 85, 55), (80, 120, 60), (150, 150, 150)]), 10)
        box = Thing("box", float(rng.uniform(0.05, 0.95)), y, width, colour=colour)
        box.style = {"half": (0.5, 0.25), "over": False}
        distractors.append(box)
    layout = {"regions": regions, "crowd": crowd, "horizon": horizon, **_photo(rng)}
    return Scene("toy-crowd", size, layout, [], distractors, _texture_offsets(rng, size))


def _crowd_sprites(crowd: dict, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every covered high-resolution pixel of every person, at once.

    Each person gets the same window of pixels beside their feet; returns, for each covered
    (person, pixel) pair: the flat pixel index, the person and whether it is the head.
    """
    fx, fy, h = crowd["x"] * side, crowd["y"] * side, crowd["h"] * side
    tall = int(np.ceil(h.max())) + 2
    wide = int(np.ceil(2 * _BODY_RX * h.max())) + 3
    ox, oy = np.floor(fx - wide / 2).astype(int), np.floor(fy - tall + 1).astype(int)
    px = ox[:, None, None] + np.arange(wide)[None, None, :]  # (N, 1, W)
    py = oy[:, None, None] + np.arange(tall)[None, :, None]  # (N, T, 1)
    dx = px + 0.5 - fx[:, None, None]
    dy = py + 0.5 - fy[:, None, None]
    hh = h[:, None, None]
    head = dx**2 + (dy + _HEAD_UP * hh) ** 2 <= (_HEAD_R * hh) ** 2
    body = (dx / (_BODY_RX * hh)) ** 2 + ((dy + _BODY_UP * hh) / (_BODY_UP * hh)) ** 2 <= 1
    inside = (px >= 0) & (px < side) & (py >= 0) & (py < side)
    person, row, col = np.nonzero((head | body) & inside)
    flat = (oy[person] + row) * side + ox[person] + col
    return flat, person, head[person, row, col]


def _render_crowd(scene: Scene) -> Rendered:
    """Draw a crowd scene: the plaza with :class:`_Canvas`, then every person at once.

    Each covered pixel keeps the nearest person (the largest depth rank, found with
    ``np.maximum.at``); instances are uint16, since a crowd can hold more than 255 people.
    """
    spec, size, ss = SPECS[scene.dataset], scene.size, CROWD_SUPERSAMPLE
    side, crowd, background = size * ss, scene.layout["crowd"], _STUFF_ID["background"]
    cv = _Canvas(side, (0, 0, 0), background)
    _draw_layout(cv, scene.layout, _STUFF_ID)
    for d in scene.distractors:
        _DRAW[d.kind](cv, d, background)
    canvas = np.asarray(cv.image)
    n = len(crowd["x"])
    flat, person, head = _crowd_sprites(crowd, side)
    nearest = np.full(side * side, -1, dtype=np.int64)
    np.maximum.at(nearest, flat, 2 * person + head)  # the head is in front of its own body
    covered = np.flatnonzero(nearest >= 0)
    who, is_head = nearest[covered] >> 1, (nearest[covered] & 1).astype(bool)
    rows = covered // side + 0.5
    h = crowd["h"][who] * side
    height = (crowd["y"][who] * side - rows) / h  # 0 at the feet, 1 at the top of the head
    shade = (0.7 + 0.45 * height)[:, None]  # lit from above
    face = is_head & crowd["face"][who] & (rows > crowd["y"][who] * side - _HEAD_UP * h)
    colour = np.where(is_head[:, None], crowd["hair"][who], crowd["shirt"][who] * shade)
    colour = np.where(face[:, None], np.array([[215, 170, 135]]), colour)
    hi_rgb = canvas[..., :3].reshape(-1, 3).copy()
    hi_rgb[covered] = np.clip(colour, 0, 255)
    rgb = np.asarray(Image.fromarray(hi_rgb.reshape(side, side, 3)).reduce(ss), dtype=np.float32)

    centre = nearest.reshape(side, side)[ss // 2 :: ss, ss // 2 :: ss]
    instances = np.where(centre >= 0, (centre >> 1) + 1, 0).astype(np.uint16)
    stuff_ids = canvas[ss // 2 :: ss, ss // 2 :: ss, 3]
    semantic = _stuff_to_semantic(spec.semantic_classes)[stuff_ids]
    semantic = np.where(centre >= 0, spec.semantic_classes.index("person"), semantic).astype(np.uint8)
    stuff = np.where(centre >= 0, -1, _ID_TO_STUFF[stuff_ids])
    tex, noise = _texture(stuff, scene.layout, scene.texture_offsets, size)
    tex += (stuff == STUFF_CLASSES.index("pavement")) * _paving(scene.layout["horizon"], size)
    rgb = rgb * (tex * scene.layout["contrast"])[..., None] + scene.layout["brightness"]
    image = np.clip(rgb + noise * scene.layout["noise"] + 0.5, 0, 255).astype(np.uint8)

    visible = np.bincount(who, minlength=n) / np.maximum(np.bincount(person, minlength=n), 1)
    points = np.stack([crowd["x"], crowd["y"] - _HEAD_UP * crowd["h"]], axis=1) * size
    return Rendered(
        image=image,
        instances=instances,
        semantic=semantic,
        labels=np.ones(n, dtype=np.int64),
        boxes=_boxes_of_many(instances, n),
        label=0,
        visible_fraction=visible,
        points=points.astype(np.float32),
    )


def _paving(horizon: float, size: int) -> np.ndarray:
    """(H, W) darker joints between paving slabs, in perspective: slabs shrink towards the horizon."""
    bank = _noise_bank(size)
    depth = 1.0 / (bank["yy"] + 0.5 / size - horizon)  # distance along the ground
    across = (bank["xx"] - 0.5) * depth
    joints = ((depth * 2.0) % 1 < 0.12) | ((across * 2.0) % 1 < 0.12 * depth / depth.max() + 0.06)
    return joints * -0.08


def _boxes_of_many(instances: np.ndarray, count: int) -> np.ndarray:
    """:func:`boxes_from_instances` for many instances: one pass over the pixels, not one per id."""
    ys, xs = np.nonzero(instances)
    ids = instances[ys, xs].astype(np.int64) - 1
    boxes = np.zeros((count, 4), dtype=np.int64)
    boxes[:, :2] = instances.shape[1] + 1
    np.minimum.at(boxes[:, 0], ids, xs)
    np.minimum.at(boxes[:, 1], ids, ys)
    np.maximum.at(boxes[:, 2], ids, xs + 1)
    np.maximum.at(boxes[:, 3], ids, ys + 1)
    boxes[boxes[:, 2] == 0] = 0  # absent ids get zeros, as in boxes_from_instances
    return boxes.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Datasets: which scenes each draws, its classes and default sizes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    """What every dataset, toy or real, is labelled with: the format all of cvlearn reads.

    classes: object classes; ``label`` indexes it from 0 (ImageFolder convention).
    categories: ``("background", *classes)``; ``labels`` index it, 0 is background
    (torchvision detection convention, so ``num_classes=len(categories)``).
    semantic_classes: every pixel's class, stuff first; ``semantic`` indexes it.
    palette: (C, 3) uint8, one display colour per semantic class.
    export_format: what ``cvlearn data export`` writes by default: "imagefolder", "coco" or "voc".

    Each kind of dataset extends it (:class:`ToySpec` here, ``cvlearn.data.real.RealSpec``), and
    ``cvlearn.data.registry.register`` makes one spec a dataset ``cvlearn.data.load`` knows.
    """

    kind: ClassVar[str] = ""
    """"toy" (drawn here) or "real" (downloaded): which half of the registry a spec belongs to."""

    name: str
    description: str
    classes: tuple[str, ...]
    semantic_classes: tuple[str, ...]
    export_format: str

    @property
    def categories(self) -> tuple[str, ...]:
        return ("background", *self.classes)

    @property
    def palette(self) -> np.ndarray:
        """(C, 3) uint8: the display colour of each semantic class."""
        return np.array(self.colours(), dtype=np.uint8)

    def colours(self) -> Sequence[tuple[int, int, int]]:
        """The RGB colour of each semantic class, in the order of ``semantic_classes``."""
        raise NotImplementedError


@dataclass(frozen=True)
class ToySpec(DatasetSpec):
    """What one toy dataset draws: its scenes (``sampler``), picture side (``size``, pixels)
    and the default number of samples of each split (``splits``).

    sampler: ``(rng, size) -> Scene``; a scene with an object less than ``min_visible`` in
    view, or fewer than ``min_pixels`` pixels, is drawn again (see :func:`generate`).
    keypoints: the names of the joints each object of the first class carries (``target["keypoints"]``
    is (N, K, 3), K = len(keypoints)); skeleton: 0-based index pairs into ``keypoints``, the bones.
    extras: the target keys this dataset adds to the common ones: "keypoints", "panoptic",
    "points" and "count".
    """

    kind: ClassVar[str] = "toy"

    size: int
    splits: dict[str, int]
    sampler: Callable[[np.random.Generator, int], Scene]
    min_visible: float = 0.5
    min_pixels: int = 8
    keypoints: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()
    extras: tuple[str, ...] = ()

    def colours(self) -> Sequence[tuple[int, int, int]]:
        return [PALETTE[c] for c in self.semantic_classes]


SPECS: dict[str, ToySpec] = {
    spec.name: spec
    for spec in [
        ToySpec(
            "toy-pets",
            "one cat or dog, indoors (wall, floor) or outdoors (sky, lawn), with toys that may hide part of it",
            ("cat", "dog"),
            ("background", "sky", "grass", "cat", "dog"),
            "imagefolder",
            size=64,
            splits={"train": 4000, "val": 500, "test": 1000},
            sampler=sample_pets,
            min_visible=0.7,
        ),
        ToySpec(
            "toy-fruit",
            "one to six apples and oranges on a table, overlapping, with plates and napkins",
            ("apple", "orange"),
            ("background", "table", "apple", "orange"),
            "coco",
            size=96,
            splits={"train": 2000, "val": 300, "test": 500},
            sampler=sample_fruit,
        ),
        ToySpec(
            "toy-pasture",
            "one to four sheep (some touching) on grass beside a road, under the sky, with bushes and fence posts",
            ("sheep",),
            ("background", "sky", "grass", "road", "sheep"),
            "voc",
            size=64,
            splits={"train": 2000, "val": 300, "test": 500},
            sampler=sample_pasture,
        ),
        ToySpec(
            "toy-pens",
            "two to four pens on a desk among papers; about a third of pens cross another",
            ("pen",),
            ("background", "table", "pen"),
            "coco",
            size=96,
            splits={"train": 2000, "val": 300, "test": 500},
            sampler=sample_pens,
            min_visible=0.4,
        ),
        ToySpec(
            "toy-street",
            "a street (sky, buildings, pavement, road) with walking, standing and waving people and "
            "parked or passing cars, overlapping; people carry 13 keypoints",
            ("person", "car"),
            ("background", "sky", "road", "pavement", "building", "person", "car"),
            "coco-keypoints",
            size=128,
            splits={"train": 2000, "val": 300, "test": 500},
            sampler=sample_street,
            min_visible=0.3,
            keypoints=PERSON_KEYPOINTS,
            skeleton=PERSON_SKELETON,
            extras=("keypoints", "panoptic"),
        ),
        ToySpec(
            "toy-crowd",
            "20 to 300 people on a plaza seen from above at an angle, a few pixels each, hiding each "
            "other and shrinking with distance; head points and counts",
            ("person",),
            ("background", "pavement", "building", "person"),
            "coco",
            size=128,
            splits={"train": 1000, "val": 200, "test": 300},
            sampler=sample_crowd,
            min_visible=0.0,
            min_pixels=0,
            extras=("points", "count"),
        ),
    ]
}
"""The toy datasets, by name: what :func:`generate` can draw. ``cvlearn.data.registry`` lists
them with the real ones, and its ``register`` adds new toy specs here."""

SPLITS = ("train", "val", "test")
_MAX_TRIES = 50


def scene_seed(name: str, split: str, index: int, seed: int) -> np.random.SeedSequence:
    """The seed of one sample: distinct for every (dataset, split, index, seed), so splits never share a scene."""
    name_key = int.from_bytes(name.encode(), "little") % (2**63)
    return np.random.SeedSequence([seed, name_key, SPLITS.index(split), index])


def generate(name: str, split: str, index: int, seed: int = 0, size: int | None = None) -> tuple[Scene, Rendered]:
    """Sample and render one scene of a dataset; deterministic in its arguments.

    Scenes whose objects are hidden too much (less than ``spec.min_visible`` of an object left
    in view, or fewer than 8 pixels) are redrawn from the same random stream.
    """
    spec = SPECS[name]
    size = spec.size if size is None else size
    rng = np.random.default_rng(scene_seed(name, split, index, seed))
    for _ in range(_MAX_TRIES):
        scene = spec.sampler(rng, size)
        out = render(scene)
        areas = np.bincount(out.instances.ravel(), minlength=len(out.labels) + 1)[1:]
        if len(out.labels) and np.all(out.visible_fraction >= spec.min_visible) and np.all(areas >= spec.min_pixels):
            return scene, out
    raise RuntimeError(f"could not draw a valid {name} scene in {_MAX_TRIES} tries (index {index})")
