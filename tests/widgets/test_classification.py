"""cvlearn.widgets.classification: the prediction explorer's pure functions and redraws."""

import matplotlib.pyplot as plt
import pytest
import torch

from cvlearn.models import SimpleCNN, predict_probabilities
from cvlearn.widgets.classification import (
    explore_prediction,
    occlude,
    prediction_explorer,
    show_prediction,
    transform_image,
)


def test_transform_image_pieces():
    image = torch.randint(10, 200, (3, 16, 16), dtype=torch.uint8)
    assert torch.equal(transform_image(image), image)
    assert transform_image(image, brightness=0.0).max() == 0
    assert (
        torch.equal(transform_image(image, rotation=360), image)
        or (transform_image(image, rotation=360).int() - image.int()).abs().max() <= 1
    )
    turned = transform_image(image, rotation=90)
    assert turned.shape == image.shape and turned.dtype == torch.uint8 and not torch.equal(turned, image)
    covered = transform_image(image, patch=(4, 4, 4))
    assert (covered[:, 2:6, 2:6] == 128).all()
    assert torch.equal(covered[:, 6:], image[:, 6:]) and torch.equal(covered[:, :, 6:], image[:, :, 6:])
    assert torch.equal(occlude(image, (0, 0), 0), image)
    assert (occlude(image, (15, 15), 6)[:, 12:, 12:] == 128).all()  # clipped at the edge
    with pytest.raises(ValueError, match=r"image must be one picture, a \(3, H, W\) uint8 tensor"):
        transform_image(image[None])
    with pytest.raises(ValueError, match="brightness must be a factor >= 0"):
        transform_image(image, brightness=-1)
    with pytest.raises(ValueError, match="patch size must be an int >= 0"):
        occlude(image, (3, 3), -2)


def test_explore_prediction_and_static_figure():
    model = SimpleCNN(widths=(4, 8))
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    picture, probabilities = explore_prediction(model, image, rotation=30, brightness=1.5, patch=(10, 10, 8))
    assert picture.shape == (3, 32, 32) and probabilities.shape == (2,)
    assert probabilities.sum().item() == pytest.approx(1.0)
    torch.testing.assert_close(probabilities, predict_probabilities(model, picture[None])[0])
    fig = show_prediction(model, image, ("cat", "dog"), rotation=30, true_class=1)
    assert len(fig.axes) == 2 and "prediction:" in fig.axes[1].get_title()


def test_prediction_explorer_redraws_when_a_slider_moves():
    model = SimpleCNN(widths=(4, 8))
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    panel = prediction_explorer(model, images, torch.tensor([0, 1, 0]), ("cat", "dog"))
    picture = panel.children[0]
    controls = panel.children[1].children[0].children
    before = picture.value
    controls[1].value = 90  # rotation
    assert picture.value != before
    readouts = panel.children[1].children[1].children[1:]
    shares = [float(box.children[1].value.rstrip("%")) for box in readouts]
    assert sum(shares) == pytest.approx(100, abs=0.2)
    with pytest.raises(ValueError, match="same number of samples"):
        prediction_explorer(model, images, torch.tensor([0]), ("cat", "dog"))


class _SaysCat(torch.nn.Module):
    """A classifier that answers "cat" (class 0) for every picture."""

    def __init__(self):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor([2.0, 0.0]))

    def forward(self, x):
        return self.logits.expand(len(x), 2)


def test_prediction_bars_are_green_only_for_a_correct_answer():
    from matplotlib.colors import to_rgba

    from cvlearn.widgets.classification import bar_colours, show_prediction

    image = torch.zeros(3, 16, 16, dtype=torch.uint8)
    for truth, expected in ((1, "tab:red"), (0, "tab:green")):
        fig = show_prediction(_SaysCat(), image, ("cat", "dog"), true_class=truth)
        bars = fig.axes[1].patches
        assert to_rgba(bars[0].get_facecolor()) == to_rgba(expected)  # the predicted class, "cat"
        assert to_rgba(bars[1].get_facecolor()) == to_rgba("tab:grey")
        assert ("(wrong)" if truth == 1 else "(right)") in fig.axes[1].get_title()
        plt.close(fig)
    assert bar_colours([0.2, 0.8], true_class=0) == ["tab:grey", "tab:red"]
    assert "tab:green" not in bar_colours([0.2, 0.8])  # no truth given: green would claim it is right
