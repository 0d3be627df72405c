"""cvlearn.models.localisation: the two-headed localiser, its loss, its data and ``localise``."""

import math

import pytest
import torch
from torchvision.ops import generalized_box_iou_loss

from cvlearn import data
from cvlearn.models.localisation import (
    BoxedSplit,
    LocalisationData,
    LocalisationLoss,
    Localiser,
    localise,
    main_boxes,
    with_boxes,
)
from tests.fakedata import make_oxford_pets


@pytest.mark.parametrize(
    "shape, dtype", [((2, 3, 64, 64), torch.uint8), ((3, 3, 37, 53), torch.float32), ((1, 3, 96, 80), torch.float32)]
)
def test_localiser_gives_one_class_score_row_and_one_valid_box_per_picture(shape, dtype):
    torch.manual_seed(0)
    images = torch.randint(0, 256, shape).to(torch.uint8) if dtype == torch.uint8 else torch.rand(shape)
    model = Localiser(num_classes=3).eval()
    with torch.no_grad():
        out = model(images)
    assert out["logits"].shape == (shape[0], 3)
    boxes = out["boxes"]
    assert boxes.shape == (shape[0], 4)
    assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes[:, 3] >= boxes[:, 1]).all()
    # a sigmoid centre and size can reach half a box past the edge, but never far
    assert boxes.min() >= -0.5 and boxes.max() <= 1.5


def test_localiser_sizes_are_configurable():
    model = Localiser(num_classes=2, widths=(8, 16, 32), grid=3, hidden=10)
    assert model.box_head[2].in_features == 32 * 3 * 3 and model.box_head[2].out_features == 10
    assert model(torch.rand(2, 3, 40, 40))["boxes"].shape == (2, 4)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"num_classes": 1}, "num_classes"),
        ({"widths": ()}, "widths"),
        ({"grid": 0}, "grid"),
        ({"hidden": 2.5}, "hidden"),
    ],
)
def test_localiser_rejects_bad_settings(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Localiser(**kwargs)


def test_localiser_asks_for_a_batch():
    with pytest.raises(ValueError, match=r"batch \(N, 3, H, W\).*images\[None\]"):
        Localiser()(torch.rand(3, 64, 64))


def test_both_heads_learn_from_the_combined_loss():
    model = Localiser(widths=(4, 8), grid=2, hidden=8)
    out = model(torch.rand(4, 3, 32, 32))
    targets = {"labels": torch.tensor([0, 1, 0, 1]), "boxes": torch.tensor([[0.1, 0.2, 0.5, 0.6]]).repeat(4, 1)}
    LocalisationLoss()(out, targets).backward()
    assert model.class_head[-1].weight.grad.abs().sum() > 0
    assert model.box_head[-1].weight.grad.abs().sum() > 0
    assert model.features[0][0].weight.grad.abs().sum() > 0


def test_loss_parts_match_hand_computed_values():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0])
    pred = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6]])
    true = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.9]])
    loss = LocalisationLoss(l1_weight=5.0, giou_weight=2.0, beta=0.02)
    parts = loss.parts({"logits": logits, "boxes": pred}, {"labels": labels, "boxes": true})
    ce = (-math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(1 / (1 + math.e))) / 2
    assert parts["class"].item() == pytest.approx(ce, rel=1e-6)
    # one coordinate of eight is 0.3 off: linear branch |x| - beta / 2
    assert parts["l1"].item() == pytest.approx((0.3 - 0.01) / 8, rel=1e-5)
    # second pair: IoU = 0.16 / 0.28, the enclosing box is the union, so GIoU = IoU
    assert parts["giou"].item() == pytest.approx((0 + (1 - 0.16 / 0.28)) / 2, rel=1e-5)
    total = loss({"logits": logits, "boxes": pred}, {"labels": labels, "boxes": true})
    assert total.item() == pytest.approx((parts["class"] + 5 * parts["l1"] + 2 * parts["giou"]).item(), rel=1e-6)


def test_loss_is_small_for_right_answers_and_large_for_disjoint_boxes():
    loss = LocalisationLoss()
    true = {"labels": torch.tensor([1]), "boxes": torch.tensor([[0.1, 0.1, 0.3, 0.3]])}
    right = loss({"logits": torch.tensor([[-10.0, 10.0]]), "boxes": true["boxes"].clone()}, true)
    far = loss({"logits": torch.tensor([[-10.0, 10.0]]), "boxes": torch.tensor([[0.7, 0.7, 0.9, 0.9]])}, true)
    assert right.item() < 1e-3
    giou = generalized_box_iou_loss(torch.tensor([[0.7, 0.7, 0.9, 0.9]]), true["boxes"]).item()
    assert giou > 1 and far.item() > 2 * giou


@pytest.mark.parametrize(
    "kwargs, word", [({"l1_weight": -1}, "l1_weight"), ({"giou_weight": "2"}, "giou_weight"), ({"beta": 0}, "beta")]
)
def test_loss_rejects_bad_weights(kwargs, word):
    with pytest.raises(ValueError, match=word):
        LocalisationLoss(**kwargs)


def test_loss_names_what_is_missing_or_mismatched():
    loss = LocalisationLoss()
    with pytest.raises(ValueError, match="'boxes' is missing"):
        loss({"logits": torch.zeros(1, 2)}, {"labels": torch.tensor([0]), "boxes": torch.zeros(1, 4)})
    with pytest.raises(ValueError, match=r"same shape \(N, 4\)"):
        loss(
            {"logits": torch.zeros(2, 2), "boxes": torch.zeros(2, 4)},
            {"labels": torch.tensor([0, 1]), "boxes": torch.zeros(3, 4)},
        )


def test_main_boxes_are_each_pictures_first_box(small):
    ds = small("toy-pets", "val", n=12)
    boxes = main_boxes(ds)
    assert boxes.shape == (12, 4) and boxes.dtype == torch.float32
    for i in (0, 5, 11):
        assert torch.equal(boxes[i], ds[i][1]["boxes"][0].as_subclass(torch.Tensor).float())


def test_data_items_are_uint8_pictures_with_normalised_boxes(small):
    ds = small("toy-pets", "val", n=12)
    image, target = LocalisationData.from_dataset(ds)[3]
    assert image.dtype == torch.uint8 and image.shape == (3, 64, 64)
    assert int(target["labels"]) == int(ds.targets[3])
    assert torch.allclose(target["boxes"], main_boxes(ds)[3] / 64)


def test_flip_mirrors_picture_and_box_together():
    image = torch.arange(3 * 4 * 8, dtype=torch.uint8).reshape(1, 3, 4, 8)
    box = torch.tensor([[1.0, 0.0, 3.0, 2.0]])
    data = LocalisationData(image, torch.tensor([1]), box, flip=True)
    torch.manual_seed(0)
    seen = set()
    for _ in range(40):
        img, target = data[0]
        if torch.equal(img, image[0]):
            assert torch.allclose(target["boxes"], torch.tensor([1 / 8, 0.0, 3 / 8, 0.5]))
            seen.add("kept")
        else:
            assert torch.equal(img, image[0].flip(-1))
            assert torch.allclose(target["boxes"], torch.tensor([5 / 8, 0.0, 7 / 8, 0.5]))
            seen.add("flipped")
    assert seen == {"kept", "flipped"}
    assert torch.equal(data.boxes, box)  # the stored boxes are never changed in place


def test_data_without_flip_is_the_same_every_time():
    data = LocalisationData(
        torch.zeros(2, 3, 8, 8, dtype=torch.uint8),
        torch.tensor([0, 1]),
        torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]]),
    )
    assert all(torch.equal(data[1][1]["boxes"], torch.tensor([0.125, 0.125, 0.375, 0.375])) for _ in range(10))


def test_data_needs_one_label_and_box_per_picture():
    with pytest.raises(ValueError, match="one label and one"):
        LocalisationData(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.tensor([0]), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        LocalisationData(torch.zeros(2, 8, 8, dtype=torch.uint8), torch.tensor([0, 1]), torch.zeros(2, 4))


def test_localise_returns_labels_scores_and_pixel_boxes():
    torch.manual_seed(0)
    model = Localiser(widths=(4, 8), grid=2, hidden=8)
    images = torch.randint(0, 256, (5, 3, 48, 32), dtype=torch.uint8)
    out = localise(model, images, batch_size=2)
    model.eval()
    with torch.no_grad():
        raw = model(images)
    assert torch.equal(out["labels"], raw["logits"].argmax(1))
    assert torch.allclose(out["scores"], raw["logits"].softmax(1).max(1).values)
    in_pixels = raw["boxes"] * torch.tensor([32, 48, 32, 48])
    assert torch.allclose(
        out["boxes"], torch.minimum(in_pixels.clamp(min=0), torch.tensor([32, 48, 32, 48])), atol=1e-4
    )
    with pytest.raises(ValueError, match="images"):
        localise(model, images[0])


def test_localise_clips_boxes_to_the_picture():
    class Overshoot(torch.nn.Module):
        def forward(self, images):
            return {
                "logits": torch.zeros(len(images), 2),
                "boxes": torch.tensor([[-0.2, 0.1, 1.3, 0.9]]).repeat(len(images), 1),
            }

    overshoot = Overshoot()
    overshoot.anchor = torch.nn.Parameter(torch.zeros(()))  # in_batches reads the device from a parameter
    out = localise(overshoot, torch.zeros(2, 3, 10, 20))
    assert torch.allclose(out["boxes"], torch.tensor([[0.0, 1.0, 20.0, 9.0]] * 2))


class OnMeta(torch.nn.Module):
    """A localiser that claims the meta device (its one parameter lives there): it records the device
    of each batch it is handed and answers from the CPU, so a function that forgets to move its
    input shows up as a "cpu" in ``seen``."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros((), device="meta"))
        self.seen = []

    def forward(self, images):
        self.seen.append(images.device.type)
        return {"logits": torch.zeros(len(images), 2), "boxes": torch.tensor([[0.25, 0.25, 0.75, 0.75]] * len(images))}


def test_localise_moves_pictures_to_the_models_device_and_answers_on_the_cpu():
    model = OnMeta()
    out = localise(model, torch.zeros(5, 3, 8, 8, dtype=torch.uint8), batch_size=2)
    assert model.seen == ["meta"] * 3
    assert {value.device.type for value in out.values()} == {"cpu"}
    assert torch.equal(out["boxes"], torch.tensor([[2.0, 2.0, 6.0, 6.0]] * 5))


@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    """Fake Oxford-IIIT Pet: 12 trainval photos (one of train without its head XML), 4 test photos without any."""
    base = tmp_path_factory.mktemp("pets")
    written = make_oxford_pets(base / "oxford-pets")
    (base / "oxford-pets" / "oxford-iiit-pet" / "annotations" / "xmls" / f"{written['trainval'][4]}.xml").unlink()
    return base


def test_with_boxes_keeps_the_photos_that_have_a_box(pets):
    whole = data.load("oxford-pets", "train", root=pets, size=64, progress=False)
    boxed = with_boxes(whole)
    has_box = [i for i in range(len(whole)) if len(whole.target(i)["boxes"])]
    assert len(has_box) == len(whole) - 1  # the photo without an XML, and only it
    assert isinstance(boxed, BoxedSplit) and boxed.indices.tolist() == has_box and boxed.dropped == 1
    assert torch.equal(boxed.images, whole.images[has_box])
    assert torch.equal(boxed.targets, whole.targets[has_box])
    assert torch.equal(main_boxes(boxed), torch.stack([whole.target(i)["boxes"][0] for i in has_box]).float())
    assert boxed.classes == whole.classes and boxed.split == "train" and boxed.size == 64
    assert torch.equal(boxed.target(3)["boxes"], whole.target(has_box[3])["boxes"])
    assert torch.equal(boxed[3][0], whole[has_box[3]][0])
    pairs = LocalisationData.from_dataset(boxed)
    assert len(pairs) == len(has_box) and torch.allclose(pairs[0][1]["boxes"], main_boxes(boxed)[0] / 64)


def test_with_boxes_of_a_split_without_any_is_empty(pets):
    whole = data.load("oxford-pets", "test", root=pets, size=64, progress=False)
    boxed = with_boxes(whole)
    assert len(boxed) == 0 and boxed.dropped == len(whole) == 4
    assert boxed.images.shape == (0, 3, 64, 64) and boxed.images.dtype == torch.uint8
    assert main_boxes(boxed).shape == (0, 4) and boxed.targets.shape == (0,)
    with pytest.raises(ValueError, match="has no box to localise.*with_boxes"):
        main_boxes(whole)


def test_with_boxes_keeps_every_toy_picture(small):
    ds = small("toy-pets", "val", n=12)
    boxed = with_boxes(ds)
    assert len(boxed) == 12 and boxed.dropped == 0
    assert torch.equal(boxed.images, ds.images) and torch.equal(main_boxes(boxed), main_boxes(ds))


def test_with_boxes_needs_pictures_of_one_size(pets):
    with pytest.raises(ValueError, match="differ in size.*size=64"):
        with_boxes(data.load("oxford-pets", "val", root=pets, progress=False))
