"""Real photos in the toy world's format: Oxford-IIIT Pet, Penn-Fudan pedestrians, Pascal VOC 2012.

Each is one :class:`RealSpec` (at the bottom of this module), registered with
:mod:`cvlearn.data.registry`: its classes and palette, its download :class:`Source` and its reader.

``cvlearn.data.load("oxford-pets", "train", size=128)`` returns a :class:`RealDataset` whose
items are ``(image, target)`` exactly as the toy datasets' (see :mod:`cvlearn.data`), with the
keys the dataset can fill:

==============  =====================================  ========================  ===========================
dataset          ``label`` / ``boxes`` + ``labels``     ``masks``                 ``semantic``
==============  =====================================  ========================  ===========================
``oxford-pets``  cat or dog (``breed`` too) / the head  --                        trimap: background, cat, dog
``penn-fudan``   person / each pedestrian               each pedestrian           background, person
``voc2012``      largest object's class / every object  --                        VOC's 21 classes
==============  =====================================  ========================  ===========================

Conventions, as in the toy world: ``label`` is 0-based into ``classes``; ``labels`` 1-based into
``categories = ("background", *classes)``; ``boxes`` XYXY in pixels from the left/top edge of an
object's first pixel to the right/bottom edge of its last (VOC's XML counts pixels from 1,
inclusive, so ``x1 = xmin - 1`` and ``x2 = xmax``); ``masks`` (N, H, W) bool; ``semantic``
(H, W) int64 into ``semantic_classes``, where 255 (:data:`VOID`, ``dataset.ignore_index``)
marks pixels no one labelled: VOC's object outlines and the pet trimaps' border band. Pass it
as ``ignore_index`` to the loss and the metrics.

Photos come in many sizes. ``size=S`` resizes every sample to S x S (boxes and masks follow),
which makes ``dataset.images`` (N, 3, S, S) and ``dataset.semantic_masks`` available as whole
tensors, as for the toy world; ``size=None`` keeps each photo as it is.

Splits: the datasets' own where they have them, with a validation split carved out of the
training images, since VOC 2012 and the pets have no labelled third split:

* ``oxford-pets``: train and val from the official ``trainval`` list (every 10th image is val),
  test is the official ``test`` list. Head boxes exist for ``trainval`` images only, so test
  targets have no boxes (``boxes`` of shape (0, 4)).
* ``penn-fudan``: 170 images in name order; every 5th (0, 5, ...) is test, the next (1, 6, ...)
  val, the rest train.
* ``voc2012``: the segmentation image sets (the images that have masks; each has its XML boxes
  too): train and val from the official ``train`` list (every 10th is val), test is the official
  ``val`` list (VOC 2012's test labels are not public).

Copies of the datasets differ from the downloads in harmless ways, and the downloads have quirks
of their own; both are read as the originals mean them: lists with ``#`` comments, blank lines,
Windows line ends or a byte-order mark; photos that are PNG or GIF under a ``.jpg`` name, grey,
CMYK, RGBA or palette; VOC objects with ``<part>`` boxes, float coordinates or no
``<difficult>``; Penn-Fudan masks of any bit depth with gaps in their instance ids. A file that
really is wrong (a mask of another size or with unknown values, an object of no known class, a
missing file) raises one :class:`RealDataError` or ``FileNotFoundError`` naming the file, what
was expected and what was found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.ops import masks_to_boxes
from torchvision.transforms import v2
from torchvision.transforms.v2.functional import pil_to_tensor
from tqdm.auto import tqdm

try:  # torchvision's own choice of XML parser: defusedxml when it is installed
    from defusedxml.ElementTree import parse as parse_xml
except ImportError:
    from xml.etree.ElementTree import parse as parse_xml
from xml.etree.ElementTree import Element, ParseError

from .. import toyworld
from ..toyworld import DatasetSpec
from .cache import display_path
from .checks import check_int, check_split
from .download import Archive, DataMissingError, Source, fetch, folder, is_complete, missing_message, source
from .registry import names, real_spec, register

__all__ = [
    "MAX_SIZE",
    "VOC2012",
    "VOC_CLASSES",
    "VOID",
    "OxfordPets",
    "PennFudan",
    "RealDataError",
    "RealDataset",
    "RealSpec",
    "choose",
    "load",
    "read_list",
    "table",
    "voc_objects",
    "voc_palette",
]

VOID = 255
"""Semantic-mask value of unlabelled pixels (VOC's convention); ``ignore_index`` of losses and metrics."""

MAX_SIZE = 1024

VOC_CLASSES = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)


def voc_palette(n: int = 256) -> np.ndarray:
    """(n, 3) uint8: VOC's colour map, the palette of its PNG masks (class i's bits spread over R, G, B)."""
    palette = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, colour = i, [0, 0, 0]
        for bit in range(7, -1, -1):
            for channel in range(3):
                colour[channel] |= ((c >> channel) & 1) << bit
            c >>= 3
        palette[i] = colour
    return palette


@dataclass(frozen=True)
class RealSpec(DatasetSpec):
    """A real dataset: how it is labelled (the toy world's format), where it comes from and who reads it.

    colours: the display colour of each semantic class.
    fills: the target keys its samples fill, in words (for the table in ``datasets/README.md``).
    source: its archives, checksums and on-disk layout (:class:`cvlearn.data.download.Source`).
    reader: the :class:`RealDataset` subclass that reads one split of it.
    """

    kind: ClassVar[str] = "real"

    semantic_colours: tuple[tuple[int, int, int], ...]
    fills: str
    source: Source
    reader: type[RealDataset]

    def colours(self) -> Sequence[tuple[int, int, int]]:
        return self.semantic_colours


class RealDataError(ValueError):
    """A file of a real dataset is not what the dataset's format promises; the message names the
    file, what was expected and what came instead."""


def read_list(path: Path) -> list[list[str]]:
    """The rows of a dataset's list file, each split into its columns.

    Copies of the lists differ from the originals in ways that do not change what they say, so
    this skips blank lines and ``#`` comments (``list.txt``'s header), and reads Windows (\\r\\n)
    line ends and a byte-order mark as an editor may leave them.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the dataset's list of images is expected there")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return [line.split() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _coordinate(box: Element, key: str, where: str) -> float:
    """One of a ``<bndbox>``'s four numbers; VOC writes most as integers and a few as ``273.5``."""
    text = box.findtext(key)
    try:
        return float(text or "")  # a missing number reads as "", which float() rejects too
    except ValueError:
        raise RealDataError(f"{where}: expected a number in <bndbox><{key}>, got {text!r}") from None


def _voc_object(obj: Element, classes: tuple[str, ...], where: str) -> tuple[list[float], int, bool]:
    """(box as VOC's xmin, ymin, xmax, ymax; 1-based label; difficult) of one ``<object>``."""
    name = (obj.findtext("name") or "").strip()
    if name not in classes:
        raise RealDataError(f"{where}: expected an object <name> among {', '.join(classes)}, got {name!r}")
    # find() looks at direct children only: a person's <part>s (head, hand, foot) have boxes of their own
    box = obj.find("bndbox")
    if box is None:
        raise RealDataError(f"{where}: expected a <bndbox> in the <object> named {name!r}, found none")
    coordinates = [_coordinate(box, key, where) for key in ("xmin", "ymin", "xmax", "ymax")]
    # <difficult> is left out of some objects; VOC's tools read a missing one as 0
    return coordinates, classes.index(name) + 1, (obj.findtext("difficult") or "0").strip() == "1"


def voc_objects(xml_path: Path, classes: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The objects of a VOC-format XML file.

    Only each ``<object>``'s own ``<name>``, ``<bndbox>`` and ``<difficult>`` are read; ``<part>``,
    ``<pose>``, ``<truncated>``, ``<occluded>`` and ``<size>`` are not (the photo's own size counts).

    Returns:
        boxes: (N, 4) float32 XYXY in pixels, edges (``x1 = xmin - 1``, ``x2 = xmax``);
        labels: (N,) int64, 1-based into ``("background", *classes)``;
        difficult: (N,) bool, VOC's flag for objects its own evaluation leaves out.

    Raises:
        FileNotFoundError: there is no such file.
        RealDataError: the file is not XML, or an object lacks a known name or a box of numbers.
    """
    if not xml_path.is_file():
        raise FileNotFoundError(f"{xml_path} is missing: the image's VOC-format XML annotation is expected there")
    try:
        root = parse_xml(xml_path).getroot()
    except ParseError as err:
        raise RealDataError(
            f"{xml_path}: expected a VOC-format XML annotation, but it does not parse ({err})"
        ) from None
    objects = [_voc_object(obj, classes, f"{xml_path}, object {k}") for k, obj in enumerate(root.findall("object"), 1)]
    if not objects:
        return _no_objects()
    coordinates, labels, difficult = zip(*objects)
    boxes = torch.tensor(coordinates, dtype=torch.float32) - torch.tensor([1.0, 1.0, 0.0, 0.0])
    return boxes, torch.tensor(labels, dtype=torch.int64), torch.tensor(difficult, dtype=torch.bool)


def _open_image(path: Path, what: str) -> Image.Image:
    """``Image.open`` with errors that say which file of the dataset failed and what it should be."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {what} is expected there")
    try:
        return Image.open(path)
    except OSError as err:  # PIL's UnidentifiedImageError is an OSError too
        raise RealDataError(f"{path}: expected {what}, but it cannot be read as an image ({err})") from None


def _rgb_tensor(image: Image.Image) -> torch.Tensor:
    """(3, H, W) uint8 from a PIL image of any mode (grey, RGBA and CMYK photos are converted)."""
    return pil_to_tensor(image.convert("RGB"))


def _read_rgb(path: Path) -> torch.Tensor:
    """(3, H, W) uint8 from a photo file in any format PIL reads, whatever its name says.

    Real photo sets hold a few PNGs and GIFs named ``.jpg``, and grey, CMYK, RGBA and palette
    photos; all become RGB. EXIF orientation is not applied: the masks and boxes were drawn on
    the pixels as stored.
    """
    with _open_image(path, "a photo") as image:
        try:
            return _rgb_tensor(image)
        except OSError as err:  # a truncated or damaged file fails only when decoded
            raise RealDataError(f"{path}: expected a photo, but its pixels cannot be decoded ({err})") from None


def _read_indices(path: Path, what: str) -> np.ndarray:
    """(H, W) int64 values of a palette or grey PNG (class or instance indices, not colours)."""
    with _open_image(path, what) as png:
        values = np.array(png)
        mode = png.mode
    if values.ndim != 2:
        raise RealDataError(
            f"{path}: expected {what}, a one-channel palette or grey PNG of indices, "
            f"got a {mode}-mode image with {values.shape[-1]} channels"
        )
    # int64: 16-bit PNGs arrive as uint16, which torch cannot compare
    return values.astype(np.int64)


def _check_values(values: np.ndarray, allowed: np.ndarray, path: Path, what: str) -> None:
    """Raise unless every value of ``values`` is in ``allowed``, naming the values that are not."""
    present = np.flatnonzero(np.bincount(values.ravel()))
    unexpected = np.setdiff1d(present, allowed)
    if len(unexpected):
        raise RealDataError(
            f"{path}: expected {what} with values in {_ranges(allowed)}, got {', '.join(map(str, unexpected[:10]))}"
        )


def _ranges(values: np.ndarray) -> str:
    """``0-20, 255`` for a sorted array of ints."""
    runs = np.split(values, np.flatnonzero(np.diff(values) != 1) + 1)
    return ", ".join(f"{run[0]}" if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _check_size(pixels: torch.Tensor, mask: np.ndarray, image_path: Path, mask_path: Path) -> None:
    """Raise unless a mask covers its photo pixel for pixel."""
    if tuple(mask.shape) != tuple(pixels.shape[-2:]):
        (h, w), (mh, mw) = pixels.shape[-2:], mask.shape
        raise RealDataError(
            f"{mask_path}: expected a mask of the photo's size, {w} x {h} pixels as "
            f"{image_path.name} is, got {mw} x {mh}"
        )


def _no_objects() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return torch.zeros((0, 4)), torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.bool)


def _every_tenth(rows: list, split: str) -> list:
    """Split a training list: every 10th row (0, 10, ...) for val, the rest for train."""
    return [row for i, row in enumerate(rows) if (i % 10 == 0) == (split == "val")]


# --------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------


class RealDataset(torch.utils.data.Dataset):
    """One split of a real dataset, read from ``datasets/NAME/`` one sample at a time.

    Subclasses list their samples (``_records``), read one (``_read``) and know its main label
    cheaply (``_label``); this class resizes, numbers and transforms samples and offers the toy
    datasets' attributes.
    """

    def __init__(
        self,
        spec: RealSpec,
        split: str,
        root: Path,
        size: int | None,
        n: int | None,
        transforms: Callable | None = None,
        progress: bool = True,
    ) -> None:
        self.spec, self.name, self.split, self.root = spec, spec.name, split, root
        self.classes, self.categories = spec.classes, spec.categories
        self.semantic_classes, self.palette = spec.semantic_classes, spec.palette
        self.ignore_index = VOID
        self.size, self.transforms, self.progress = size, transforms, progress
        self._resize = None if size is None else v2.Resize((size, size), antialias=True)
        records = self._records(split)
        # n caps the size: a notebook's CPU-sized subset (n=400) takes a smaller split whole
        self._rows = records if n is None else records[:n]
        self._images: torch.Tensor | None = None
        self._semantic: torch.Tensor | None = None

    def _records(self, split: str) -> list:
        raise NotImplementedError

    def _read(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        """(3, H, W) uint8 image and its target with plain tensors, at the photo's own size."""
        raise NotImplementedError

    def _label(self, index: int) -> int:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        size = "native" if self.size is None else self.size
        return (
            f"RealDataset({self.name!r}, split={self.split!r}, n={len(self)}, size={size}, "
            f"classes={list(self.classes)})"
        )

    def _check_index(self, index: int) -> int:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} samples")
        return index % len(self)

    def _sample(self, index: int) -> tuple[tv_tensors.Image, dict[str, Any]]:
        """Sample ``index`` as tv_tensors, resized to ``size`` when one was given."""
        pixels, target = self._read(index)
        image = tv_tensors.Image(pixels)
        target = {**target, "image_id": index}
        target["boxes"] = tv_tensors.BoundingBoxes(target["boxes"], format="XYXY", canvas_size=tuple(image.shape[-2:]))
        for key in ("masks", "semantic"):
            if key in target:
                target[key] = tv_tensors.Mask(target[key])
        if self._resize is not None and "semantic" in target:
            # torchvision resizes a uint8 mask hundreds of times faster than an int64 one (0.1 ms
            # against 40 ms for a 600 px photo); every class index and VOID fit in a byte
            target["semantic"] = tv_tensors.Mask(target["semantic"].to(torch.uint8))
            image, target = self._resize(image, target)
            target["semantic"] = tv_tensors.Mask(target["semantic"].long())
        elif self._resize is not None:
            image, target = self._resize(image, target)
        return image, target

    def __getitem__(self, index: int) -> tuple[tv_tensors.Image, dict[str, Any]]:
        image, target = self._sample(self._check_index(index))
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    def target(self, index: int) -> dict[str, Any]:
        """Every annotation of sample ``index``, resized like its image (see the module docstring)."""
        return self._sample(self._check_index(index))[1]

    @property
    def targets(self) -> torch.Tensor:
        """(N,) int64: the main ``label`` of every sample (read from the lists and XML, no pixels)."""
        return torch.tensor([self._label(i) for i in range(len(self))], dtype=torch.int64)

    def _stack(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every image and semantic mask of the split, read once: (N, 3, S, S) and (N, S, S) uint8."""
        if self.size is None:
            raise ValueError(
                f"the photos of {self.name} differ in size, so they cannot be stacked into one "
                f"tensor; load it with a size, e.g. cvlearn.data.load({self.name!r}, "
                f"{self.split!r}, size=128), or index the dataset one sample at a time"
            )
        images = torch.empty((len(self), 3, self.size, self.size), dtype=torch.uint8)
        semantic = torch.empty((len(self), self.size, self.size), dtype=torch.uint8)
        for i in tqdm(
            range(len(self)),
            desc=f"reading {self.name} {self.split}",
            unit="img",
            disable=not self.progress,
            leave=False,
        ):
            images[i], target = self._sample(i)
            semantic[i] = target["semantic"]
        return images, semantic

    @property
    def images(self) -> torch.Tensor:
        """(N, 3, S, S) uint8: every image of the split (needs ``size``; read once, then kept)."""
        if self._images is None:
            self._images, self._semantic = self._stack()
        return self._images

    @property
    def semantic_masks(self) -> torch.Tensor:
        """(N, S, S) uint8: every semantic mask of the split, 255 where unlabelled (needs ``size``)."""
        if self._semantic is None:
            self._images, self._semantic = self._stack()
        return self._semantic


class OxfordPets(RealDataset):
    """Oxford-IIIT Pet: ``images/*.jpg``, the trimaps and the head boxes of its XML files, listed by
    ``annotations/trainval.txt`` and ``test.txt`` (read as torchvision's ``OxfordIIITPet`` reads them).

    Extra: ``target["breed"]`` (int, into ``dataset.breeds``, 37 names) and ``dataset.breeds``.
    """

    TRIMAP = np.array([1, 2, 3])
    """The trimaps' values: 1 pet, 2 background, 3 the unlabelled border band between them."""

    def _list(self, name: str) -> list[tuple[str, int, int]]:
        """(image id, breed, species) of each row of ``annotations/NAME.txt``, both 0-based."""
        path = self._annotations / name
        return [self._row(row, path, k) for k, row in enumerate(read_list(path), start=1)]

    @staticmethod
    def _row(row: list[str], path: Path, k: int) -> tuple[str, int, int]:
        """One row, ``IMAGE CLASS-ID SPECIES BREED-ID``, checked: a bad one stops here, not deep in a loader."""
        if len(row) >= 4 and row[1].isdigit() and int(row[1]) >= 1 and row[2] in ("1", "2"):
            return row[0], int(row[1]) - 1, int(row[2]) - 1
        raise RealDataError(
            f"{path}, row {k} (not counting blank and # lines): expected 'IMAGE CLASS-ID "
            f"SPECIES BREED-ID' with class ids from 1 and species 1 or 2, got {' '.join(row)!r}"
        )

    def _records(self, split: str) -> list[tuple[str, int, int]]:
        self._annotations = self.root / "oxford-iiit-pet" / "annotations"
        rows = self._list("test.txt" if split == "test" else "trainval.txt")
        other = self._list("trainval.txt" if split == "test" else "test.txt")
        # breed names as torchvision's OxfordIIITPet writes them ("American Bulldog"), from both
        # lists, so that target["breed"] indexes the same 37 names in every split
        names = {
            breed: " ".join(part.title() for part in image_id.rsplit("_", 1)[0].split("_"))
            for image_id, breed, _ in rows + other
        }
        self.breeds = tuple(names.get(k, f"breed {k + 1}") for k in range(max(names, default=-1) + 1))
        return rows if split == "test" else _every_tenth(rows, split)

    def _label(self, index: int) -> int:
        return self._rows[index][2]

    def _read(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        image_id, breed, species = self._rows[index]
        image_path = self.root / "oxford-iiit-pet" / "images" / f"{image_id}.jpg"
        trimap_path = self._annotations / "trimaps" / f"{image_id}.png"
        pixels, trimap = _read_rgb(image_path), _read_indices(trimap_path, "a trimap")
        _check_values(trimap, self.TRIMAP, trimap_path, "a trimap")
        _check_size(pixels, trimap, image_path, trimap_path)
        lookup = np.array([VOID, species + 1, 0, VOID], dtype=np.int64)  # trimap: 1 pet, 2 background, 3 border
        xml = self._annotations / "xmls" / f"{image_id}.xml"
        # head boxes exist for most trainval photos only: no XML means no box, not an error
        boxes, labels, _ = voc_objects(xml, self.classes) if xml.exists() else _no_objects()
        return pixels, {
            "label": species,
            "breed": breed,
            "boxes": boxes,
            "labels": labels,
            "semantic": torch.from_numpy(lookup[trimap]),
        }


class PennFudan(RealDataset):
    """Penn-Fudan pedestrians: ``PNGImages/*.png`` and ``PedMasks/*_mask.png`` (0 background, k pedestrian k).

    Boxes are the tight boxes around the masks, as in the toy world. Instance ids need not be
    consecutive: a mask with ids 1 and 3 holds two pedestrians.
    """

    def _records(self, split: str) -> list[Path]:
        # dot files are no photos: macOS leaves ._NAME.png beside each file it copies
        images = sorted(
            path for path in (self.root / "PennFudanPed" / "PNGImages").glob("*.png") if not path.name.startswith(".")
        )
        part = {0: "test", 1: "val"}  # every 5th image (0, 5, ...) is test, the next val, the rest train
        return [path for i, path in enumerate(images) if part.get(i % 5, "train") == split]

    def _label(self, index: int) -> int:
        return 0

    def _read(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        path = self._rows[index]
        mask_path = path.parent.parent / "PedMasks" / f"{path.stem}_mask.png"
        pixels, ids_map = _read_rgb(path), _read_indices(mask_path, f"the pedestrian mask of {path.name}")
        _check_size(pixels, ids_map, path, mask_path)
        # np.bincount, not torch.unique: the latter sorts the whole photo, ~20x slower at 500x400
        ids = np.flatnonzero(np.bincount(ids_map.ravel()))
        instances = torch.from_numpy(ids_map)
        masks = instances == torch.from_numpy(ids[ids > 0]).view(-1, 1, 1)
        boxes = masks_to_boxes(masks) + torch.tensor([0.0, 0.0, 1.0, 1.0])
        return pixels, {
            "label": 0,
            "boxes": boxes,
            "labels": torch.ones(len(masks), dtype=torch.int64),
            "masks": masks,
            "semantic": (instances > 0).long(),
        }


class VOC2012(RealDataset):
    """Pascal VOC 2012's segmentation image sets (``ImageSets/Segmentation/*.txt``, ``JPEGImages``,
    ``SegmentationClass``, laid out as torchvision's ``VOCSegmentation`` expects), with each image's
    objects from ``Annotations/*.xml``. ``target["difficult"]`` (N,) bool is VOC's own flag;
    ``label`` is the class of the largest object (-1 for a photo without objects)."""

    SEMANTIC = np.array([*range(len(VOC_CLASSES) + 1), VOID])
    """The class masks' values: background, the 20 classes and the void outlines."""

    def _records(self, split: str) -> list[str]:
        self._folder = self.root / "VOCdevkit" / "VOC2012"
        list_file = self._folder / "ImageSets" / "Segmentation" / ("val.txt" if split == "test" else "train.txt")
        rows = [row[0] for row in read_list(list_file)]
        return rows if split == "test" else _every_tenth(rows, split)

    def _objects(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return voc_objects(self._folder / "Annotations" / f"{self._rows[index]}.xml", self.classes)

    @staticmethod
    def _largest(boxes: torch.Tensor, labels: torch.Tensor) -> int:
        if len(labels) == 0:
            return -1  # a photo without objects has no main class
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return int(labels[areas.argmax()]) - 1

    def _label(self, index: int) -> int:
        boxes, labels, _ = self._objects(index)
        return self._largest(boxes, labels)

    def _read(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        stem = self._rows[index]
        image_path = self._folder / "JPEGImages" / f"{stem}.jpg"
        mask_path = self._folder / "SegmentationClass" / f"{stem}.png"
        boxes, labels, difficult = self._objects(index)
        pixels, semantic = _read_rgb(image_path), _read_indices(mask_path, "a class mask")
        _check_values(semantic, self.SEMANTIC, mask_path, "a class mask")
        _check_size(pixels, semantic, image_path, mask_path)
        return pixels, {
            "label": self._largest(boxes, labels),
            "boxes": boxes,
            "labels": labels,
            "difficult": difficult,
            "semantic": torch.from_numpy(semantic),
        }


# --------------------------------------------------------------------------------------------
# The real datasets: one spec each, with its source and reader
# --------------------------------------------------------------------------------------------

OXFORD_PETS = register(
    RealSpec(
        name="oxford-pets",
        description="7,349 photos of 37 cat and dog breeds (Parkhi et al., 2012)",
        classes=("cat", "dog"),
        semantic_classes=("background", "cat", "dog"),
        export_format="imagefolder",
        semantic_colours=(toyworld.PALETTE["background"], toyworld.PALETTE["cat"], toyworld.PALETTE["dog"]),
        fills="`label` (cat/dog), `breed`, `boxes` (head, trainval only), `semantic` (trimap)",
        source=Source(
            "Oxford-IIIT Pet",
            "https://www.robots.ox.ac.uk/~vgg/data/pets/",
            archives=(
                # sha256 and sizes: TensorFlow Datasets, tensorflow_datasets/datasets/oxford_iiit_pet/checksums.tsv
                Archive(
                    "images.tar.gz",
                    (
                        "https://thor.robots.ox.ac.uk/~vgg/data/pets/images.tar.gz",
                        "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
                    ),
                    791_918_971,
                    "67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d",
                ),
                Archive(
                    "annotations.tar.gz",
                    (
                        "https://thor.robots.ox.ac.uk/~vgg/data/pets/annotations.tar.gz",
                        "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
                    ),
                    19_173_078,
                    "52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91",
                ),
            ),
            folder="oxford-iiit-pet",
            unpack_into="oxford-iiit-pet",
            required=(
                "oxford-iiit-pet/images",
                "oxford-iiit-pet/annotations/trainval.txt",
                "oxford-iiit-pet/annotations/test.txt",
                "oxford-iiit-pet/annotations/trimaps",
                "oxford-iiit-pet/annotations/xmls",
            ),
            licence="CC BY-SA 4.0",
            toy="toy-pets",
        ),
        reader=OxfordPets,
    )
)

PENN_FUDAN = register(
    RealSpec(
        name="penn-fudan",
        description="170 street photos, 345 pedestrians",
        classes=("person",),
        semantic_classes=("background", "person"),
        export_format="coco",
        semantic_colours=(tuple(voc_palette(16)[0]), tuple(voc_palette(16)[15])),
        fills="`boxes`, `labels`, `masks`, `semantic`",
        source=Source(
            "Penn-Fudan pedestrians",
            "https://www.cis.upenn.edu/~jshi/ped_html/",
            archives=(
                # No published sha256 was found; md5 from ContinualAI/avalanche, penn_fudan_data.py.
                Archive(
                    "PennFudanPed.zip",
                    ("https://www.cis.upenn.edu/~jshi/ped_html/PennFudanPed.zip",),
                    None,
                    None,
                    md5="5aaa3dee905cef73325923716e38fc6d",
                ),
            ),
            folder="PennFudanPed",
            unpack_into="",
            required=("PennFudanPed/PNGImages", "PennFudanPed/PedMasks"),
            licence="research use (see the homepage)",
            toy="toy-pens",
        ),
        reader=PennFudan,
    )
)

VOC = register(
    RealSpec(
        name="voc2012",
        description="Pascal VOC 2012: 2,913 photos with masks of 20 object classes",
        classes=VOC_CLASSES,
        semantic_classes=("background", *VOC_CLASSES),
        export_format="coco",
        semantic_colours=tuple(map(tuple, voc_palette(21))),
        fills="`boxes`, `labels` (detection), `semantic` (segmentation, 255 = unlabelled)",
        source=Source(
            "Pascal VOC 2012",
            "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/",
            archives=(
                # sha256 and size: TensorFlow Datasets, tensorflow_datasets/url_checksums/voc.txt
                Archive(
                    "VOCtrainval_11-May-2012.tar",
                    (
                        "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
                        "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
                    ),
                    1_999_639_040,
                    "e14f763270cf193d0b5f74b169f44157a4b0c6efa708f4dd0ff78ee691763bcb",
                ),
            ),
            folder="VOCdevkit",
            unpack_into="",
            required=(
                "VOCdevkit/VOC2012/JPEGImages",
                "VOCdevkit/VOC2012/Annotations",
                "VOCdevkit/VOC2012/SegmentationClass",
                "VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt",
                "VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt",
            ),
            licence="Flickr terms of use (see the homepage)",
            toy="toy-pasture",
        ),
        reader=VOC2012,
    )
)


def load(
    name: str,
    split: str = "train",
    root: str | Path | None = None,
    size: int | None = None,
    n: int | None = None,
    transforms: Callable | None = None,
    progress: bool = True,
    download: bool = False,
) -> RealDataset:
    """One split of a real dataset (usually called through :func:`cvlearn.data.load`).

    Args:
        name: ``"oxford-pets"``, ``"penn-fudan"`` or ``"voc2012"``.
        split: ``"train"``, ``"val"`` or ``"test"`` (see the module docstring for what each holds).
        root: the datasets folder (default :func:`cvlearn.data.default_root`); files are read
            from ``root/NAME/``.
        size: resize every sample to ``size`` x ``size`` pixels (32 to 1024); ``None`` keeps the
            photos' own sizes.
        n: the first ``n`` samples of the split (default all; a smaller split is taken whole).
        transforms: optional ``transforms.v2`` callable applied to ``(image, target)``.
        progress: progress bars while downloading or stacking ``images``.
        download: fetch the dataset first if it is not complete on disk.

    Raises:
        cvlearn.data.download.DataMissingError: the files are not there and ``download`` is false; the
            message names the size, the folder and the command that fetches them.
    """
    spec = real_spec(name)
    split = check_split(split)
    size = None if size is None else check_int(size, "size", 32, MAX_SIZE)
    n = None if n is None else check_int(n, "n", 1)
    if not is_complete(name, root):
        if not download:
            raise DataMissingError(missing_message(name, root))
        fetch(name, root, progress)
    return spec.reader(spec, split, folder(name, root), size, n, transforms, progress)


def choose(data: str, toy: str, real: str, root: str | Path | None = None) -> str:
    """The dataset a notebook runs on, with one line saying which and why.

    ``data`` is the notebook's ``DATA`` parameter: ``"toy"`` gives ``toy``; the ``real`` name gives
    it when it is on disk, otherwise ``toy`` again, with the command that fetches it. Never
    downloads, never raises for a missing dataset.
    """
    if data not in ("toy", toy, real):
        raise ValueError(f"DATA must be 'toy' or {real!r}, got {data!r}")
    src = source(real)
    command = f"`cvlearn data download {real}` ({src.size}) in a terminal"
    if data in ("toy", toy):
        print(f"data: {toy}, the toy world (for real photos, run {command} and set DATA = {real!r})")
        return toy
    if is_complete(real, root):
        where = display_path(folder(real, root))
        print(f"data: {real}, {src.title} from {where} (real photos train far faster on a GPU)")
        return real
    print(f"data: {toy}, because {real} is not downloaded yet: run {command}, then run this notebook again")
    return toy


def table() -> str:
    """The real datasets as a markdown table, one row per registered spec (``datasets/README.md``)."""
    rows = [
        "| name | what | target keys filled | download | licence |",
        "|------|------|--------------------|----------|---------|",
    ]
    for spec in map(real_spec, names("real")):
        rows.append(
            f"| `{spec.name}` | {spec.description} | {spec.fills} | {spec.source.size} | {spec.source.licence} |"
        )
    return "\n".join(rows)
