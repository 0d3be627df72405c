"""Stand-in Oxford-IIIT Pet: all 37 breeds, 8 photos each, in ``oxford-iiit-pet/``'s layout.

As in the real download: ``images/Breed_N.jpg`` (cat breeds capitalised, dog breeds not);
``annotations/list.txt``, ``trainval.txt`` and ``test.txt`` with lines ``Breed_N CLASS-ID SPECIES
BREED-ID`` (class ids 1 to 37 alphabetically, species 1 cat and 2 dog, breed ids within a
species); ``annotations/trimaps/Breed_N.png`` (1 pet, 2 background, 3 border); and
``annotations/xmls/Breed_N.xml`` with the head box, for most trainval photos only: some
trainval photos have none, and no test photo has one. A few photos are greyscale JPEGs.

Each pet is a cat (pointed upright ears, short face, long tail) or a dog (floppy ears, long
muzzle, big black nose) in its breed's coat, seen from the side in a room or a garden with
unlabelled clutter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.fakedata import _png, _voc_xml

from .photo import (
    Canvas,
    Colour,
    Texture,
    animal,
    animal_colours,
    backdrop,
    clutter,
    jitter,
    outline,
    photo_size,
    pick,
    save_photo,
    visible_box,
    voc_box,
)

NAME = "oxford-pets"
TRAINVAL, TEST = 6, 2
"""Photos per breed in each official list (the real set has about 100 and 100)."""

BREEDS: dict[str, tuple[Colour, str, Colour | None, Colour | None]] = {
    # name: (coat, pattern, colour of the pattern, colour of the points: face, ears, legs, tail)
    "Abyssinian": ((176, 110, 62), "plain", None, None),
    "Bengal": ((205, 145, 70), "spots", (60, 40, 25), None),
    "Birman": ((228, 215, 190), "plain", None, (95, 75, 60)),
    "Bombay": ((32, 30, 32), "plain", None, None),
    "British_Shorthair": ((130, 135, 145), "plain", None, None),
    "Egyptian_Mau": ((180, 180, 172), "spots", (50, 50, 50), None),
    "Maine_Coon": ((140, 100, 70), "stripes", (60, 40, 30), None),
    "Persian": ((236, 228, 214), "plain", None, None),
    "Ragdoll": ((232, 222, 204), "patch", (245, 245, 240), (110, 90, 75)),
    "Russian_Blue": ((118, 126, 140), "plain", None, None),
    "Siamese": ((222, 206, 180), "plain", None, (70, 50, 40)),
    "Sphynx": ((215, 170, 155), "plain", None, None),
    "american_bulldog": ((236, 230, 222), "patch", (170, 120, 80), None),
    "american_pit_bull_terrier": ((120, 100, 90), "plain", None, None),
    "basset_hound": ((150, 95, 55), "patch", (240, 236, 228), None),
    "beagle": ((175, 115, 60), "patch", (40, 35, 30), None),
    "boxer": ((190, 130, 70), "plain", None, (60, 45, 35)),
    "chihuahua": ((215, 175, 120), "plain", None, None),
    "english_cocker_spaniel": ((150, 80, 40), "plain", None, None),
    "english_setter": ((238, 234, 226), "spots", (60, 55, 50), None),
    "german_shorthaired": ((110, 70, 50), "spots", (235, 230, 220), None),
    "great_pyrenees": ((242, 240, 234), "plain", None, None),
    "havanese": ((212, 196, 170), "plain", None, None),
    "japanese_chin": ((240, 238, 232), "patch", (30, 28, 28), None),
    "keeshond": ((140, 140, 135), "plain", None, (50, 50, 50)),
    "leonberger": ((172, 122, 70), "plain", None, (60, 45, 35)),
    "miniature_pinscher": ((42, 32, 28), "plain", None, None),
    "newfoundland": ((28, 26, 26), "plain", None, None),
    "pomeranian": ((222, 150, 70), "plain", None, None),
    "pug": ((205, 175, 135), "plain", None, (45, 40, 38)),
    "saint_bernard": ((190, 110, 60), "patch", (245, 242, 236), None),
    "samoyed": ((246, 243, 238), "plain", None, None),
    "scottish_terrier": ((36, 36, 38), "plain", None, None),
    "shiba_inu": ((206, 126, 62), "plain", None, None),
    "staffordshire_bull_terrier": ((110, 80, 65), "patch", (235, 230, 225), None),
    "wheaten_terrier": ((226, 202, 152), "plain", None, None),
    "yorkshire_terrier": ((120, 100, 80), "plain", None, (170, 130, 80)),
}
"""The 37 breeds under their real names, each with a coat in its breed's colours."""

WALLS = [(205, 195, 175), (170, 180, 195), (215, 205, 185), (150, 160, 150), (190, 170, 175)]
FLOORS = [(160, 110, 60), (120, 80, 45), (190, 150, 100), (140, 120, 110), (100, 100, 110)]
GARDEN = ((165, 195, 225), (80, 140, 60))


def breeds() -> list[tuple[str, int, int, int]]:
    """(name, class id, species, breed id) of every breed, numbered as the real lists number them:
    class ids alphabetically ignoring case, species 1 cat (capitalised names) and 2 dog, breed ids
    alphabetically within a species."""
    ordered = sorted(BREEDS, key=str.lower)
    within = {1: 0, 2: 0}
    rows = []
    for class_id, name in enumerate(ordered, start=1):
        species = 1 if name[0].isupper() else 2
        within[species] += 1
        rows.append((name, class_id, species, within[species]))
    return rows


def _scene(canvas: Canvas, rng: np.random.Generator) -> None:
    """A room (wall and floor) or a garden (sky and lawn), with unlabelled clutter."""
    if rng.random() < 0.65:
        backdrop(canvas, rng, jitter(rng, pick(rng, WALLS)), jitter(rng, pick(rng, FLOORS)), (0.4, 0.75))
    else:
        backdrop(canvas, rng, jitter(rng, GARDEN[0]), jitter(rng, GARDEN[1], 25), (0.2, 0.5))
    clutter(canvas, rng, int(rng.integers(3, 9)))


HEAD = (0.66, 1.0, 0.02, 0.5)
"""Where the head of a cat or dog drawn by :func:`.photo.animal` lies in its box: u from, u to, v from, v to."""


def _close_up(rng: np.random.Generator, h: int, w: int, flip: bool, aspect: float) -> tuple[float, float, float, float]:
    """A pet wider than the photo, cut by its edges, with the whole head inside, as in many real photos."""
    width = w * rng.uniform(1.0, 1.5)
    height = width / aspect
    u0, u1, v0, v1 = HEAD
    if flip:
        u0, u1 = 1 - u1, 1 - u0
    left = rng.uniform(-u0 * width, w - u1 * width)
    top = rng.uniform(-v0 * height, h - v1 * height)
    return left, top, left + width, top + height


def _pet_box(rng: np.random.Generator, h: int, w: int, flip: bool) -> tuple[float, float, float, float]:
    """Where the pet stands: in 3 photos of 10 a close-up; otherwise large and whole but for its
    tail or feet now and then. The head is always inside the photo."""
    aspect = rng.uniform(1.25, 1.45)
    if rng.random() < 0.3:
        return _close_up(rng, h, w, flip, aspect)
    width = min(w * rng.uniform(0.5, 0.9), 0.92 * h * aspect)
    height = width / aspect
    tail_cut = 0.15 * width * (rng.random() < 0.3)
    low, high = (0.0, w - width + tail_cut) if flip else (-tail_cut, w - width)
    left = rng.uniform(low, max(low, high))
    top = rng.uniform(0.03 * h, max(0.03 * h, h - 0.95 * height))
    return left, top, left + width, top + height


def _photo(rng: np.random.Generator, texture: Texture, breed: str) -> tuple[np.ndarray, np.ndarray]:
    """One photo of a ``breed``: (H, W, 3) uint8 pixels and (H, W) uint8 ids (0 background, 1 body, 2 head)."""
    coat, pattern, second, points = BREEDS[breed]
    kind = "cat" if breed[0].isupper() else "dog"
    h, w = photo_size(rng, long_side=(260, 500), ratio=(0.62, 0.88), portrait=0.3, large=0.08)
    canvas = Canvas(h, w, (0, 0, 0))
    _scene(canvas, rng)
    flip = bool(rng.random() < 0.5)
    parts = animal(kind, girth=rng.uniform(0.16, 0.22), legs=rng.uniform(0.5, 0.6), pattern=pattern, rng=rng)
    canvas.draw(parts, _pet_box(rng, h, w, flip), animal_colours(rng, coat, second, points), 1, flip, head_ident=2)
    rgb, ids = canvas.layers()
    return texture.apply(rng, rgb), ids


def _trimap(ids: np.ndarray) -> np.ndarray:
    """(H, W) uint8 in the real trimaps' values: 1 pet, 2 background, 3 the border band between them."""
    pet = ids > 0
    trimap = np.where(pet, 1, 2).astype(np.uint8)
    trimap[outline(pet.astype(np.uint8))] = 3
    return trimap


def _list_order(line: str) -> tuple[int, str]:
    """The real lists' order: by class id, then by photo name as text (``Abyssinian_100`` before ``_21``)."""
    image_id, class_id = line.split()[:2]
    return int(class_id), image_id


def _lists(rng: np.random.Generator) -> dict[str, list[str]]:
    """The lines of ``trainval.txt`` and ``test.txt``: each breed's photos numbered as on Flickr's
    download (distinct numbers up to 200), a random TEST of them in the test list."""
    lines: dict[str, list[str]] = {"trainval": [], "test": []}
    for name, class_id, species, breed_id in breeds():
        numbers = rng.choice(np.arange(1, 201), TRAINVAL + TEST, replace=False)
        for k, number in enumerate(numbers):
            split = "test" if k < TEST else "trainval"
            lines[split].append(f"{name}_{number} {class_id} {species} {breed_id}")
    return {split: sorted(rows, key=_list_order) for split, rows in lines.items()}


def _headless(rng: np.random.Generator, trainval: list[str]) -> set[str]:
    """The trainval photos without a head XML: about 1 in 10, and always the third of the list
    (the second of the train split), so that a notebook's first photos include one."""
    names = [line.split()[0] for line in trainval]
    return {name for name in names if rng.random() < 0.1} | {names[2]}


HEADER = [
    "#Image CLASS-ID SPECIES BREED ID",
    "#ID: 1:37 Class ids",
    "#SPECIES: 1:Cat 2:Dog",
    "#BREED ID: 1-25:Cat 1:12:Dog",
    "#All images with 1st letter as captial are cat images",
    "#images with small first letter are dog images",
]
"""``list.txt``'s header, as the real one has it (typos included)."""


def write(root: Path, seed: int = 0) -> Path:
    """Write the stand-in under ``root/oxford-pets/oxford-iiit-pet/``; returns ``root/oxford-pets``."""
    base = Path(root) / NAME
    images, annotations = base / "oxford-iiit-pet" / "images", base / "oxford-iiit-pet" / "annotations"
    rng = np.random.default_rng([seed, 1])
    texture = Texture(rng)
    lists = _lists(rng)
    headless = _headless(rng, lists["trainval"])
    (annotations / "xmls").mkdir(parents=True, exist_ok=True)
    for split, lines in lists.items():
        for line in lines:
            image_id, _, species, _ = line.split()
            pixels, ids = _photo(rng, texture, image_id.rsplit("_", 1)[0])
            save_photo(images / f"{image_id}.jpg", pixels, grey=bool(rng.random() < 0.02))
            _png(annotations / "trimaps" / f"{image_id}.png", _trimap(ids))
            if split == "trainval" and image_id not in headless:
                head = voc_box(visible_box(ids, 2))
                xml = _voc_xml(f"{image_id}.jpg", *ids.shape, [("cat" if species == "1" else "dog", head, 0)])
                (annotations / "xmls" / f"{image_id}.xml").write_text(xml, encoding="utf-8")
        (annotations / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    every = sorted(lists["trainval"] + lists["test"], key=_list_order)
    (annotations / "list.txt").write_text("\n".join(HEADER + every) + "\n", encoding="utf-8")
    return base
