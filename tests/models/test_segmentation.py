"""cvlearn.models.segmentation: FCN and UNet keep any input size and take uint8 pictures; class
maps, colour clusters and median-frequency weights."""

import pytest
import torch

from cvlearn.metrics.segmentation import (
    match_clusters,
    mean_iou,
)
from cvlearn.models.segmentation import FCN, UNet, colour_clusters, median_frequency_weights, predict_classes
from cvlearn.recipes import count_parameters


def test_median_frequency_weights_by_hand():
    masks = torch.tensor([[[0, 0, 0, 0, 0, 0], [1, 1, 1, 2, 2, 2]], [[0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 2]]])
    # frequencies 12/24, 8/24, 4/24; median 8/24; class 3 has no pixel
    weights = median_frequency_weights(masks, 4)
    assert weights.tolist() == pytest.approx([8 / 12, 1.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="class indices"):
        median_frequency_weights(masks, 2)


@pytest.mark.parametrize(
    "make",
    [lambda: FCN(5, width=4), lambda: FCN(5, width=4, upsample="transposed"), lambda: UNet(5, width=4)],
    ids=["fcn", "fcn-transposed", "unet"],
)
@pytest.mark.parametrize("size", [(64, 64), (65, 63), (33, 47), (8, 9)])
def test_models_keep_any_input_size(make, size):
    model = make().eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 5, *size)


def test_models_reject_bad_input_with_a_clear_message():
    model = UNet(5, width=4)
    with pytest.raises(ValueError, match=r"at least 8×8"):
        model(torch.rand(1, 3, 7, 20))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[0.0]])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match="upsample"):
        FCN(5, upsample="nearest")
    with pytest.raises(ValueError, match="num_classes"):
        UNet(1)


@pytest.mark.parametrize(
    "make", [lambda: FCN(5, width=4), lambda: FCN(5, width=4, upsample="transposed"), lambda: UNet(5, width=4)]
)
def test_models_take_uint8_pictures_as_their_float_copies(make):
    model = make().eval()
    pictures = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(model(pictures), model(pictures.float() / 255))


def test_unet_size_and_training_step():
    assert 400_000 < count_parameters(UNet(5)) < 600_000
    model = UNet(3, width=4)
    images, masks = torch.rand(2, 3, 16, 16), torch.randint(0, 3, (2, 16, 16))
    loss = torch.nn.functional.cross_entropy(model(images), masks)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_predict_gives_class_maps_from_uint8_images():
    images = torch.randint(0, 256, (5, 3, 17, 19), dtype=torch.uint8)
    maps = predict_classes(FCN(4, width=4), images, batch_size=2)
    assert maps.shape == (5, 17, 19) and maps.dtype == torch.int64 and int(maps.max()) < 4


def test_colour_clusters_find_flat_colour_regions():
    colours = torch.tensor([[200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=torch.uint8)
    masks = torch.zeros(2, 8, 8, dtype=torch.long)
    masks[:, 3:] = 1
    masks[:, 6:, 4:] = 2
    images = colours[masks].permute(0, 3, 1, 2)
    centres, clusters = colour_clusters(images, 3, seed=0)
    assert centres.shape == (3, 3) and clusters.shape == masks.shape
    mapping = torch.from_numpy(match_clusters(clusters, masks, 3))
    assert mean_iou(mapping[clusters], masks, 3) == pytest.approx(1.0)
