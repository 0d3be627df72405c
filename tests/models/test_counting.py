"""cvlearn.models.counting: DensityNet's output size and stride, checked inputs, counts as the maps'
sums, and a network that learns two pictures' maps by heart."""

import pytest
import torch
import torch.nn.functional as F

from cvlearn.models import DensityNet, predict_counts, predict_density


@pytest.mark.parametrize(("stride", "widths"), [(1, (4,)), (2, (4, 8)), (4, (4, 8, 8)), (4, (4, 8, 8, 8))])
def test_density_has_one_cell_per_stride(stride, widths):
    model = DensityNet(widths, dilations=(2, 1), stride=stride).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 32, 48))
    assert out.shape == (2, 1, 32 // stride, 48 // stride)


def test_uint8_pictures_are_their_float_copies():
    model = DensityNet((4, 8, 8)).eval()
    pictures = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(model(pictures), model(pictures.float() / 255))


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match="stride"):
        DensityNet((4, 8, 8), stride=3)
    with pytest.raises(ValueError, match="widths must list at least 3"):
        DensityNet((4, 8), stride=4)
    with pytest.raises(ValueError, match="dilations"):
        DensityNet((4, 8, 8), dilations=(0,))
    with pytest.raises(ValueError, match="widths"):
        DensityNet(())
    model = DensityNet((4, 8, 8), stride=4)
    with pytest.raises(ValueError, match="multiples of stride=4"):
        model(torch.rand(1, 3, 18, 16))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.rand(3, 16, 16))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[0.0]])


def test_the_count_is_the_maps_sum_in_batches():
    torch.manual_seed(0)
    model = DensityNet((4, 8, 8))
    images = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8)
    maps = predict_density(model, images, batch_size=2)
    assert maps.shape == (5, 1, 4, 4) and model.training  # the mode it had comes back
    counts = predict_counts(model, images, batch_size=3)
    assert counts.shape == (5,)
    assert torch.allclose(counts, maps.sum(dim=(1, 2, 3)), atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(maps, model.eval()(images), atol=1e-5)  # eval mode: no batch statistics


def test_overfits_two_pictures():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 16, 16)
    target = torch.zeros(2, 1, 4, 4)
    target[0, 0, 1, 2], target[0, 0, 3, 3] = 1.0, 2.0  # picture 0 counts 3
    target[1, 0, 0, 1], target[1, 0, 2, 0] = 4.0, 3.0  # picture 1 counts 7
    model = DensityNet((4, 8, 8), dilations=(2,), stride=4)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(100):
        opt.zero_grad()
        F.mse_loss(model(images), target).backward()
        opt.step()
    # the same batch at every step: BatchNorm's running statistics end up the batch's own,
    # so the eval-mode prediction matches what was fitted
    maps = predict_density(model, images)
    assert F.mse_loss(maps, target).item() < 0.02
    assert torch.allclose(predict_counts(model, images), torch.tensor([3.0, 7.0]), atol=0.5)
