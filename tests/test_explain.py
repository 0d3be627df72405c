"""cvlearn.explain: saliency, Grad-CAM and feature maps point at the pixels that decide."""

import pytest
import torch
from torch import nn

from cvlearn import explain
from cvlearn.models import SimpleCNN


@pytest.mark.parametrize("look", ["feature_maps", "saliency", "grad_cam"])
def test_explain_runs_on_the_models_device(look):
    """On the meta device every op runs without data; only the copy of the result back to the CPU
    fails. A CPU picture handed to the meta model unmoved would fail earlier, on the device."""
    model = SimpleCNN(widths=(4, 8)).to("meta")
    images = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with pytest.raises(RuntimeError, match="device"):
        model(images)  # the mistake this test catches
    layer = model.features[0] if look == "feature_maps" else model.features[-1]
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        getattr(explain, look)(model, images, layer) if look != "saliency" else explain.saliency(model, images)


class LeftHalf(nn.Module):
    """A hand-made 'network' whose class-1 score is the brightness of the left half of the picture."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1, bias=False)
        nn.init.constant_(self.conv.weight, 1.0)

    def forward(self, x):
        maps = self.conv(x.float() / 255 if x.dtype == torch.uint8 else x)
        left = maps[..., : maps.shape[-1] // 2].mean(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(left), left], dim=1)


def test_saliency_points_at_the_pixels_that_decide():
    heat = explain.saliency(LeftHalf(), torch.rand(2, 3, 8, 8), classes=1, top=1.0)
    assert heat.shape == (2, 8, 8) and heat.min() >= 0 and heat.max() <= 1
    assert (heat[..., :4] == 1).all() and (heat[..., 4:] == 0).all()


def test_grad_cam_points_at_the_region_that_decides():
    class Brightness(nn.Module):
        """Class-1 score: the mean of one (ReLU) feature map that lights up on bright pixels."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 1, 1, bias=False), nn.ReLU())
            nn.init.constant_(self.features[0].weight, 1.0)

        def forward(self, x):
            score = self.features(x).mean(dim=(1, 2, 3))
            return torch.stack([-score, score], dim=1)

    images = torch.zeros(1, 3, 8, 8)
    images[:, :, 2:4, 1:3] = 1.0
    model = Brightness()
    cam = explain.grad_cam(model, images, model.features, classes=1)
    assert cam.shape == (1, 8, 8)
    assert (cam[0, 2:4, 1:3] == 1).all() and cam[0, 5:, 5:].max() == 0
    assert explain.grad_cam(model, images, model.features, classes=0).max() == 0  # nothing speaks for class 0


def test_grad_cam_and_feature_maps_on_simple_cnn():
    model = SimpleCNN(widths=(4, 8))
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    maps = explain.feature_maps(model, images, model.features[0])
    assert maps.shape == (3, 4, 16, 16)
    cam = explain.grad_cam(model, images, model.features[-1])
    assert cam.shape == (3, 32, 32) and cam.min() >= 0 and cam.max() <= 1
    assert not model.features[0]._forward_hooks  # hooks are removed afterwards
    with pytest.raises(TypeError, match="layer must be an nn.Module"):
        explain.feature_maps(model, images, "features.0")
