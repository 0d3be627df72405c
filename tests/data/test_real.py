"""The real-data adapters, read from tiny fake copies in each dataset's real on-disk layout."""

import re
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from cvlearn import data, formats, plot, system
from cvlearn.data import download
from cvlearn.data import real as realdata
from cvlearn.metrics.coco import coco_evaluate
from tests.fakedata import make_oxford_pets, make_penn_fudan, make_voc2012


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A datasets folder holding all three fakes, and what was written into each."""
    base = tmp_path_factory.mktemp("datasets")
    written = {
        "oxford-pets": make_oxford_pets(base / "oxford-pets"),
        "penn-fudan": make_penn_fudan(base / "penn-fudan"),
        "voc2012": make_voc2012(base / "voc2012"),
    }
    return base, written


def check_format(ds, image, target, keys):
    """The toy world's sample format: types, dtypes, shapes and which keys are there."""
    h, w = image.shape[-2:]
    assert isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8 and image.shape[0] == 3
    assert keys <= set(target), keys - set(target)
    assert "masks" in keys or "masks" not in target
    assert 0 <= target["label"] < len(ds.classes) and isinstance(target["image_id"], int)
    assert isinstance(target["boxes"], tv_tensors.BoundingBoxes) and target["boxes"].format.name == "XYXY"
    assert tuple(target["boxes"].canvas_size) == (h, w)
    assert target["labels"].dtype == torch.int64 and len(target["labels"]) == len(target["boxes"])
    assert ((target["labels"] >= 1) & (target["labels"] < len(ds.categories))).all()
    semantic = target["semantic"]
    assert isinstance(semantic, tv_tensors.Mask) and semantic.dtype == torch.int64 and semantic.shape == (h, w)
    known = (semantic < len(ds.semantic_classes)) | (semantic == ds.ignore_index)
    assert known.all()
    assert ds.categories == ("background", *ds.classes) and len(ds.palette) == len(ds.semantic_classes)
    assert ds.palette.dtype == np.uint8 and ds.palette.shape[1] == 3
    if "masks" in target:
        masks = target["masks"]
        assert isinstance(masks, tv_tensors.Mask) and masks.dtype == torch.bool
        assert masks.shape == (len(target["labels"]), h, w) and masks.sum(0).max() <= 1


# --------------------------------------------------------------------------------------------
# Oxford-IIIT Pet
# --------------------------------------------------------------------------------------------


def test_pets_splits_follow_the_official_lists(root):
    base, written = root
    trainval = written["oxford-pets"]["trainval"]
    sizes = {split: len(data.load("oxford-pets", split, root=base)) for split in ("train", "val", "test")}
    assert sizes == {"train": 10, "val": 2, "test": 4}
    val = data.load("oxford-pets", "val", root=base)
    assert [val.target(i)["image_id"] for i in range(2)] == [0, 1]
    # val holds every 10th trainval image: the 1st and 11th, recognisable by their size
    assert [tuple(val[i][0].shape[-2:]) for i in range(2)] == [
        written["oxford-pets"]["samples"][trainval[k]]["size"] for k in (0, 10)
    ]


def test_pets_sample_is_read_correctly(root):
    base, written = root
    ds = data.load("oxford-pets", "train", root=base)
    assert isinstance(ds, realdata.RealDataset) and ds.classes == ("cat", "dog")
    assert ds.semantic_classes == ("background", "cat", "dog") and ds.name == "oxford-pets" and ds.split == "train"
    assert ds.breeds[:4] == ("Abyssinian", "American Bulldog", "American Pit Bull Terrier", "Basset Hound")
    image_id = written["oxford-pets"]["trainval"][1]  # train's first sample, a dog
    truth = written["oxford-pets"]["samples"][image_id]
    image, target = ds[0]
    check_format(ds, image, target, {"label", "breed", "boxes", "labels", "semantic", "image_id"})
    assert tuple(image.shape[-2:]) == truth["size"]
    assert (image.float().mean((1, 2)) - torch.tensor(truth["colour"])).abs().max() < 3
    assert target["label"] == truth["species"] == 1 and target["breed"] == truth["breed"] == 1
    assert ds.breeds[target["breed"]] == "American Bulldog"
    x1, y1, x2, y2 = truth["head"]
    assert target["boxes"].tolist() == [[x1 - 1, y1 - 1, x2, y2]] and target["labels"].tolist() == [2]
    trimap = torch.from_numpy(truth["trimap"])
    expected = torch.where(trimap == 1, 2, torch.where(trimap == 2, 0, realdata.VOID))
    assert torch.equal(target["semantic"], expected)
    assert ds.targets.tolist() == [
        written["oxford-pets"]["samples"][i]["species"]
        for k, i in enumerate(written["oxford-pets"]["trainval"])
        if k % 10
    ]


def test_pets_test_split_has_no_head_boxes(root):
    base, _ = root
    _, target = data.load("oxford-pets", "test", root=base)[0]
    assert target["boxes"].shape == (0, 4) and target["labels"].shape == (0,)


def test_resizing_moves_boxes_and_masks_with_the_image(root):
    base, _ = root
    native = data.load("oxford-pets", "train", root=base)
    small = data.load("oxford-pets", "train", root=base, size=32)
    image, target = small[0]
    (h, w), size = native[0][0].shape[-2:], 32
    assert image.shape == (3, 32, 32) and tuple(target["boxes"].canvas_size) == (32, 32)
    scale = torch.tensor([size / w, size / h, size / w, size / h])
    assert torch.allclose(target["boxes"], native.target(0)["boxes"] * scale, atol=1e-4)
    assert set(target["semantic"].unique().tolist()) <= {0, 2, realdata.VOID}
    assert small.images.shape == (len(small), 3, 32, 32) and small.images.dtype == torch.uint8
    assert torch.equal(small.images[0], image)
    assert small.semantic_masks.shape == (len(small), 32, 32) and torch.equal(
        small.semantic_masks[0].long(), target["semantic"]
    )


def test_native_sizes_cannot_be_stacked_and_say_how(root):
    base, _ = root
    with pytest.raises(ValueError, match="size=128"):
        _ = data.load("oxford-pets", "train", root=base).images


# --------------------------------------------------------------------------------------------
# Penn-Fudan
# --------------------------------------------------------------------------------------------


def test_penn_fudan_instances(root):
    base, written = root
    sizes = {split: len(data.load("penn-fudan", split, root=base)) for split in ("train", "val", "test")}
    assert sizes == {"train": 6, "val": 2, "test": 2}
    ds = data.load("penn-fudan", "train", root=base)
    assert ds.classes == ("person",) and ds.categories == ("background", "person")
    for i, k in enumerate([2, 3, 4, 7, 8, 9]):  # train: the images not at 0 or 1 modulo 5
        stem = written["penn-fudan"]["names"][k]
        ids = torch.from_numpy(written["penn-fudan"]["instances"][stem])
        image, target = ds[i]
        check_format(ds, image, target, {"label", "boxes", "labels", "masks", "semantic", "image_id"})
        assert len(target["masks"]) == k % 3 + 1 and target["labels"].tolist() == [1] * (k % 3 + 1)
        for p, (mask, box) in enumerate(zip(target["masks"], target["boxes"])):
            assert torch.equal(mask, ids == p + 1)
            ys, xs = torch.nonzero(mask, as_tuple=True)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        assert torch.equal(target["semantic"], (ids > 0).long()) and target["label"] == 0
    assert ds.targets.tolist() == [0] * 6


def test_penn_fudan_pixels_are_exact(root):
    base, written = root
    stem = written["penn-fudan"]["names"][0]
    expected = np.array(Image.open(base / "penn-fudan" / "PennFudanPed" / "PNGImages" / f"{stem}.png"))
    image, _ = data.load("penn-fudan", "test", root=base)[0]
    assert np.array_equal(image.permute(1, 2, 0).numpy(), expected)


def test_detection_metrics_work_unchanged(root):
    base, _ = root
    ds = data.load("penn-fudan", "train", root=base, size=64)
    targets = [ds.target(i) for i in range(len(ds))]
    predictions = [
        {
            "boxes": t["boxes"],
            "labels": t["labels"],
            "scores": torch.ones(len(t["labels"])),
            "masks": t["masks"][:, None].float(),
        }
        for t in targets
    ]
    for iou_type in ("bbox", "segm"):
        scores = coco_evaluate(predictions, targets, ds.categories, (64, 64), iou_type=iou_type)
        assert scores["ap50"] == pytest.approx(1.0)
    batch = data.collate_detection([ds[0], ds[1]])
    assert len(batch[0]) == 2 and batch[1][1]["image_id"] == 1


# --------------------------------------------------------------------------------------------
# Pascal VOC 2012
# --------------------------------------------------------------------------------------------


def test_voc_boxes_semantic_and_palette(root):
    base, written = root
    sizes = {split: len(data.load("voc2012", split, root=base)) for split in ("train", "val", "test")}
    assert sizes == {"train": 9, "val": 2, "test": 3}
    ds = data.load("voc2012", "test", root=base)
    assert len(ds.classes) == 20 and ds.semantic_classes[15] == "person" and ds.categories[12] == "dog"
    assert ds.palette[15].tolist() == [192, 128, 128] and ds.palette[1].tolist() == [128, 0, 0]
    assert realdata.voc_palette()[realdata.VOID].tolist() == [224, 224, 192]
    stem = written["voc2012"]["sets"]["val"][1]
    truth = written["voc2012"]["samples"][stem]
    image, target = ds[1]
    check_format(ds, image, target, {"label", "boxes", "labels", "difficult", "semantic", "image_id"})
    assert tuple(image.shape[-2:]) == truth["size"]
    (px1, py1, px2, py2), (dx1, dy1, dx2, dy2) = truth["person"], truth["dog"]
    assert target["boxes"].tolist() == [[px1 - 1, py1 - 1, px2, py2], [dx1 - 1, dy1 - 1, dx2, dy2]]
    assert target["labels"].tolist() == [15, 12] and target["difficult"].tolist() == [False, True]
    assert ds.classes[target["label"]] == "dog"
    assert torch.equal(target["semantic"], torch.from_numpy(truth["semantic"]).long())
    assert (target["semantic"] == ds.ignore_index).any()
    assert ds.targets.tolist() == [ds.classes.index("dog")] * 3


def test_plots_draw_void_pixels(root):
    base, _ = root
    ds = data.load("voc2012", "train", root=base, size=48)
    image, target = ds[0]
    colours = plot.colourise(target["semantic"], ds.palette)
    void = (target["semantic"] == realdata.VOID).numpy()
    assert void.any() and (colours[void] == realdata.voc_palette()[realdata.VOID]).all()
    assert plot.show_semantic(image, target["semantic"], ds.semantic_classes, ds.palette) is not None


def test_transforms_apply_to_image_and_target(root):
    base, _ = root
    flip = v2.RandomHorizontalFlip(p=1.0)
    plain = data.load("voc2012", "train", root=base, size=40)
    flipped = data.load("voc2012", "train", root=base, size=40, transforms=flip)
    (a, ta), (b, tb) = plain[0], flipped[0]
    assert torch.equal(b, a.flip(-1)) and torch.equal(tb["semantic"], ta["semantic"].flip(-1))
    assert torch.allclose(tb["boxes"][:, [0, 2]], 40 - ta["boxes"][:, [2, 0]])


def test_export_in_the_datasets_own_format(root, tmp_path):
    base, _ = root
    out = formats.export(data.load("oxford-pets", "val", root=base, size=32), tmp_path / "pets", progress=False)
    assert sorted(p.parent.name for p in out.rglob("*.png")) == ["cat", "dog"]


# --------------------------------------------------------------------------------------------
# Arguments, missing data and the notebooks' switch
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"split": "trainval"}, ValueError, "split must be one of"),
        ({"size": 8}, ValueError, "size must be between 32 and 1024"),
        ({"n": 2.5}, TypeError, "n must be an int"),
    ],
)
def test_bad_arguments_are_clear(root, kwargs, error, words):
    base, _ = root
    with pytest.raises(error, match=words):
        data.load("penn-fudan", root=base, **kwargs)


def test_n_takes_the_first_samples(root):
    base, _ = root
    assert len(data.load("voc2012", "train", root=base, n=3)) == 3


def test_n_beyond_the_split_takes_it_whole(root):
    base, _ = root
    assert len(data.load("penn-fudan", root=base, n=500)) == len(data.load("penn-fudan", root=base))


def test_unknown_names_list_toy_and_real(tmp_path):
    with pytest.raises(ValueError) as err:
        data.load("imagenet", root=tmp_path)
    assert "toy-pets" in str(err.value) and "voc2012" in str(err.value)
    with pytest.raises(ValueError, match="is a real dataset"):
        data.build("voc2012", root=tmp_path)


@pytest.mark.parametrize("name", sorted(download.SOURCES))
def test_missing_data_is_one_clear_paragraph_at_once(tmp_path, monkeypatch, name):
    monkeypatch.setattr(system, "network_reachable", lambda *a, **k: pytest.fail("network was tried"))
    # at once: no network, no waiting, no rendering of a stand-in
    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail("waited"))
    monkeypatch.setattr(data.toy, "render_split", lambda *a, **k: pytest.fail("rendered"))
    with pytest.raises(download.DataMissingError) as err:
        data.load(name, "train", root=tmp_path)
    message = str(err.value)
    src = download.SOURCES[name]
    for part in (
        name,
        src.size,
        str(tmp_path / name),
        f"cvlearn data download {name}",
        src.toy,
        *(a.file_name for a in src.archives),
    ):
        assert part in message
    assert "\n" not in message and isinstance(err.value, FileNotFoundError)


def test_half_there_names_what_is_missing(tmp_path):
    (tmp_path / "penn-fudan" / "PennFudanPed" / "PNGImages").mkdir(parents=True)
    with pytest.raises(download.DataMissingError, match="lacks PennFudanPed/PedMasks"):
        data.load("penn-fudan", root=tmp_path)


def test_choose_falls_back_to_toy_with_one_line(root, tmp_path, capsys):
    base, _ = root
    assert realdata.choose("toy", "toy-pets", "oxford-pets", root=tmp_path) == "toy-pets"
    assert "cvlearn data download oxford-pets" in capsys.readouterr().out
    assert realdata.choose("oxford-pets", "toy-pets", "oxford-pets", root=tmp_path) == "toy-pets"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "not downloaded" in out and "811 MB" in out
    assert realdata.choose("oxford-pets", "toy-pets", "oxford-pets", root=base) == "oxford-pets"
    assert "oxford-pets" in capsys.readouterr().out
    with pytest.raises(ValueError, match="DATA must be 'toy' or 'oxford-pets'"):
        realdata.choose("pets", "toy-pets", "oxford-pets")


def test_a_voc_photo_without_objects_has_no_boxes_and_no_main_class(tmp_path):
    written = make_voc2012(tmp_path / "voc2012")
    stem = written["sets"]["train"][1]  # train's second photo (the first is val)
    xml = tmp_path / "voc2012" / "VOCdevkit" / "VOC2012" / "Annotations" / f"{stem}.xml"
    xml.write_text(xml.read_text().split("<object>")[0] + "</annotation>")
    ds = data.load("voc2012", "train", root=tmp_path)
    _, target = ds[0]
    assert target["label"] == -1 and target["boxes"].shape == (0, 4) and len(target["labels"]) == 0
    assert int(ds.targets[0]) == -1


# --------------------------------------------------------------------------------------------
# Copies of the real datasets written by others: their quirks, and clear errors for bad files
# --------------------------------------------------------------------------------------------


def _rewrite(path, edit):
    """Replace a file's bytes with ``edit(bytes)``."""
    path.write_bytes(edit(path.read_bytes()))


LIST_QUIRKS = {
    "comment header": lambda text: b"#Image CLASS-ID SPECIES BREED ID\n#SPECIES: 1:Cat 2:Dog\n" + text,
    "blank lines and CRLF": lambda text: b"\r\n" + text.replace(b"\n", b"\r\n") + b"\r\n\r\n",
    "byte-order mark": lambda text: b"\xef\xbb\xbf" + text,
}


@pytest.mark.parametrize("quirk", sorted(LIST_QUIRKS))
def test_pets_lists_read_as_the_originals_whatever_the_copy(tmp_path, quirk):
    written = make_oxford_pets(tmp_path / "oxford-pets")
    for name in ("trainval.txt", "test.txt"):
        _rewrite(tmp_path / "oxford-pets" / "oxford-iiit-pet" / "annotations" / name, LIST_QUIRKS[quirk])
    sizes = {split: len(data.load("oxford-pets", split, root=tmp_path)) for split in ("train", "val", "test")}
    assert sizes == {"train": 10, "val": 2, "test": 4}
    test = data.load("oxford-pets", "test", root=tmp_path)
    assert tuple(test[3][0].shape[-2:]) == written["samples"][written["test"][3]]["size"]


@pytest.mark.parametrize("quirk", sorted(LIST_QUIRKS))
def test_voc_lists_read_as_the_originals_whatever_the_copy(tmp_path, quirk):
    make_voc2012(tmp_path / "voc2012")
    for name in ("train.txt", "val.txt"):
        _rewrite(
            tmp_path / "voc2012" / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation" / name, LIST_QUIRKS[quirk]
        )
    sizes = {split: len(data.load("voc2012", split, root=tmp_path)) for split in ("train", "val", "test")}
    assert sizes == {"train": 9, "val": 2, "test": 3}
    ds = data.load("voc2012", "test", root=tmp_path, size=32)
    assert ds.images.shape == (3, 3, 32, 32) and ds.targets.tolist() == [ds.classes.index("dog")] * 3


def test_pet_breeds_are_the_same_names_in_every_split(tmp_path):
    """A small copy may lack a breed in one list; breed ids still index the same names."""
    written = make_oxford_pets(tmp_path / "oxford-pets")
    test_list = tmp_path / "oxford-pets" / "oxford-iiit-pet" / "annotations" / "test.txt"
    test_list.write_text(
        "".join(line + "\n" for line in test_list.read_text().splitlines() if not line.startswith("Abyssinian"))
    )
    names = {
        "american_bulldog": "American Bulldog",
        "american_pit_bull_terrier": "American Pit Bull Terrier",
        "basset_hound": "Basset Hound",
    }
    ds = data.load("oxford-pets", "test", root=tmp_path)
    assert ds.breeds == data.load("oxford-pets", "train", root=tmp_path).breeds
    for i in range(len(ds)):
        image_id = [k for k in written["test"] if not k.startswith("Abyssinian")][i]
        assert ds.breeds[ds[i][1]["breed"]] == names[image_id.rsplit("_", 1)[0]]


def _save_as(path, mode, format, **options):
    """Re-save an image file in another mode and format under the same name."""
    with Image.open(path) as image:
        image.convert(mode).save(path, format=format, **options)


def _exif_rotated(path):
    """Tag a JPEG as 'rotate 90°': the annotations were drawn on the stored pixels, so it is ignored."""
    exif = Image.Exif()
    exif[0x0112] = 6
    with Image.open(path) as image:
        image.load()
    image.save(path, format="JPEG", exif=exif.tobytes())


PHOTO_QUIRKS = {
    "PNG named .jpg": lambda p: _save_as(p, "RGB", "PNG"),
    "GIF named .jpg": lambda p: _save_as(p, "P", "GIF"),
    "greyscale": lambda p: _save_as(p, "L", "JPEG"),
    "CMYK": lambda p: _save_as(p, "CMYK", "JPEG"),
    "RGBA": lambda p: _save_as(p, "RGBA", "PNG"),
    "palette with transparency": lambda p: _save_as(p, "P", "PNG", transparency=0),
    "EXIF orientation": _exif_rotated,
}


@pytest.mark.parametrize("quirk", sorted(PHOTO_QUIRKS))
def test_pet_photos_of_every_format_and_mode_read_as_rgb(tmp_path, quirk):
    """The real pets hold a few of each; the pixels stay as stored, aligned with the trimap."""
    written = make_oxford_pets(tmp_path / "oxford-pets")
    image_id = written["trainval"][1]
    PHOTO_QUIRKS[quirk](tmp_path / "oxford-pets" / "oxford-iiit-pet" / "images" / f"{image_id}.jpg")
    image, target = data.load("oxford-pets", "train", root=tmp_path)[0]
    assert image.shape == (3, *written["samples"][image_id]["size"]) and image.dtype == torch.uint8
    assert target["semantic"].shape == image.shape[-2:]


def test_voc_xml_reads_only_each_objects_own_box(tmp_path):
    """Real VOC XML: person <part>s with boxes of their own, float coordinates, <difficult> left
    out, extra tags and a <size> that disagrees with the photo."""
    written = make_voc2012(tmp_path / "voc2012")
    stem = written["sets"]["val"][0]
    xml = tmp_path / "voc2012" / "VOCdevkit" / "VOC2012" / "Annotations" / f"{stem}.xml"
    part = "<part><name>head</name><bndbox><xmin>9</xmin><ymin>9</ymin><xmax>12</xmax><ymax>12</ymax></bndbox></part>"
    text = xml.read_text().replace("<name>person</name>", f"<name>person</name>{part}")
    text = text.replace("<xmin>30</xmin>", "<xmin>30.5</xmin>").replace("<difficult>1</difficult>", "")
    text = text.replace(
        "<difficult>0</difficult>", f"<difficult>0</difficult>{part}<actions><other>1</other></actions>"
    )
    xml.write_text(text.replace("<width>80</width>", "<width>500</width>"))
    target = data.load("voc2012", "test", root=tmp_path).target(0)
    (px1, py1, px2, py2), (_, dy1, dx2, dy2) = written["samples"][stem]["person"], written["samples"][stem]["dog"]
    assert target["boxes"].tolist() == [[px1 - 1, py1 - 1, px2, py2], [29.5, dy1 - 1, dx2, dy2]]
    assert target["labels"].tolist() == [15, 12] and target["difficult"].tolist() == [False, False]


def test_penn_fudan_masks_of_any_depth_and_with_gaps_in_the_ids(tmp_path):
    """16-bit masks, and ids 1 and 3 without a 2: two pedestrians."""
    written = make_penn_fudan(tmp_path / "penn-fudan")
    stem = written["names"][2]  # train's first photo, with 3 pedestrians
    ids = written["instances"][stem].astype(np.uint16)
    ids[ids == 2] = 0
    Image.fromarray(ids).save(tmp_path / "penn-fudan" / "PennFudanPed" / "PedMasks" / f"{stem}_mask.png")
    target = data.load("penn-fudan", "train", root=tmp_path).target(0)
    assert len(target["masks"]) == 2 and torch.equal(target["masks"][1], torch.from_numpy(ids == 3))


def test_penn_fudan_ignores_dot_files_beside_the_photos(tmp_path):
    """macOS copies leave ``._NAME.png`` files that are no photos."""
    written = make_penn_fudan(tmp_path / "penn-fudan")
    (tmp_path / "penn-fudan" / "PennFudanPed" / "PNGImages" / f"._{written['names'][0]}.png").write_bytes(b"\0\5\26\7")
    sizes = {split: len(data.load("penn-fudan", split, root=tmp_path)) for split in ("train", "val", "test")}
    assert sizes == {"train": 6, "val": 2, "test": 2}
    data.load("penn-fudan", "test", root=tmp_path)[0]


def _pets(tmp_path, folder, suffix):
    """The fake pets, and the file of train's first sample in ``folder``."""
    written = make_oxford_pets(tmp_path / "oxford-pets")
    return "oxford-pets", tmp_path / "oxford-pets" / "oxford-iiit-pet" / folder / f"{written['trainval'][1]}{suffix}"


def _pets_list(tmp_path):
    return tmp_path / "oxford-pets" / "oxford-iiit-pet" / "annotations" / "trainval.txt"


def _voc(tmp_path, folder, suffix):
    """The fake VOC, and the file of test's first sample in ``folder``."""
    written = make_voc2012(tmp_path / "voc2012")
    return "voc2012", tmp_path / "voc2012" / "VOCdevkit" / "VOC2012" / folder / f"{written['sets']['val'][0]}{suffix}"


def _penn(tmp_path, folder, suffix):
    """The fake Penn-Fudan, and the file of test's first sample in ``folder``."""
    written = make_penn_fudan(tmp_path / "penn-fudan")
    return "penn-fudan", tmp_path / "penn-fudan" / "PennFudanPed" / folder / f"{written['names'][0]}{suffix}"


def _edit(path, old, new):
    path.write_text(path.read_text().replace(old, new, 1))


def _grey(path, value=None, shape=None, fill=0):
    """Re-save a mask as a one-channel PNG, with ``value`` in its first pixel, or of another
    ``shape`` filled with ``fill``."""
    with Image.open(path) as old:
        pixels = np.array(old)
    pixels = np.full(shape, fill, dtype=np.uint8) if shape else pixels
    pixels[0, 0] = pixels[0, 0] if value is None else value
    Image.fromarray(pixels).save(path)


BAD_FILES = {
    # case: (dataset and the file to spoil, how, words the error must hold besides the file's path)
    "pets list row": (
        lambda t: (_pets(t, "annotations", "")[0], _pets_list(t)),
        lambda p: _edit(p, " 2 2 ", " 2 dog "),
        ["row 2", "expected 'IMAGE CLASS-ID SPECIES", "2 dog"],
    ),
    "pets trimap value": (
        lambda t: _pets(t, "annotations/trimaps", ".png"),
        lambda p: _grey(p, value=7),
        ["expected a trimap with values in 1-3, got 7"],
    ),
    "pets trimap in colour": (
        lambda t: _pets(t, "annotations/trimaps", ".png"),
        lambda p: Image.open(p).convert("RGB").save(p),
        ["one-channel", "RGB-mode"],
    ),
    "pets trimap size": (
        lambda t: _pets(t, "annotations/trimaps", ".png"),
        lambda p: _grey(p, shape=(20, 30), fill=2),
        ["expected a mask of the photo's size", "got 30 x 20"],
    ),
    "pets photo cut short": (
        lambda t: _pets(t, "images", ".jpg"),
        lambda p: p.write_bytes(p.read_bytes()[:300]),
        ["expected a photo, but", "cannot be"],
    ),
    "pets photo not an image": (
        lambda t: _pets(t, "images", ".jpg"),
        lambda p: p.write_text("<html>Not found</html>"),
        ["expected a photo", "cannot be read as an image"],
    ),
    "voc class name": (
        lambda t: _voc(t, "Annotations", ".xml"),
        lambda p: _edit(p, ">dog<", ">Dog<"),
        ["object 2", "expected an object <name> among aeroplane", "got 'Dog'"],
    ),
    "voc no bndbox": (
        lambda t: _voc(t, "Annotations", ".xml"),
        lambda p: p.write_text(re.sub("<bndbox>.*?</bndbox>", "", p.read_text(), count=1)),
        ["object 1", "expected a <bndbox>", "named 'person'"],
    ),
    "voc coordinate": (
        lambda t: _voc(t, "Annotations", ".xml"),
        lambda p: _edit(p, "<ymin>4</ymin>", "<ymin>n/a</ymin>"),
        ["expected a number in <bndbox><ymin>", "'n/a'"],
    ),
    "voc xml broken": (
        lambda t: _voc(t, "Annotations", ".xml"),
        lambda p: _edit(p, "</annotation>", ""),
        ["expected a VOC-format XML annotation", "does not parse"],
    ),
    "voc xml missing": (
        lambda t: _voc(t, "Annotations", ".xml"),
        lambda p: p.unlink(),
        ["is missing", "XML annotation is expected there"],
    ),
    "voc mask value": (
        lambda t: _voc(t, "SegmentationClass", ".png"),
        lambda p: _grey(p, value=40),
        ["expected a class mask with values in 0-20, 255, got 40"],
    ),
    "voc mask in colour": (
        lambda t: _voc(t, "SegmentationClass", ".png"),
        lambda p: Image.open(p).convert("RGB").save(p),
        ["one-channel", "RGB-mode"],
    ),
    "penn mask missing": (
        lambda t: _penn(t, "PedMasks", "_mask.png"),
        lambda p: p.unlink(),
        ["is missing", "the pedestrian mask of FudanPed00001.png is expected there"],
    ),
    "penn mask size": (
        lambda t: _penn(t, "PedMasks", "_mask.png"),
        lambda p: _grey(p, shape=(20, 30)),
        ["expected a mask of the photo's size, 70 x 50 pixels as FudanPed00001.png is, got 30 x 20"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_one_clear_error_naming_the_file(tmp_path, case):
    where, spoil, words = BAD_FILES[case]
    name, path = where(tmp_path)
    spoil(path)
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        data.load(name, "train" if name == "oxford-pets" else "test", root=tmp_path)[0]
    message = str(err.value)
    for part in (str(path), *words):
        assert part in message
    # one error, not a chain of tracebacks through PIL and the XML parser
    assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)
