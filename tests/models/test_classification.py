"""cvlearn.models.classification: SimpleCNN, its normalisation, and predictions in batches on the
model's device."""

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from cvlearn.models import SimpleCNN, channel_stats, embeddings, predict_probabilities
from cvlearn.models.classification import Normalise
from cvlearn.widgets.classification import (
    explore_prediction,
    prediction_explorer,
    show_prediction,
)


def test_simple_cnn_shapes_and_parameter_count():
    model = SimpleCNN(num_classes=2, widths=(16, 32, 64, 128))
    images = torch.randint(0, 256, (5, 3, 64, 64), dtype=torch.uint8)
    assert model(images).shape == (5, 2)
    assert model.embed(images).shape == (5, 128)
    # conv weights (no bias: BatchNorm follows) + BatchNorm scale and shift + the linear head
    convs = 3 * 16 * 9 + 16 * 32 * 9 + 32 * 64 * 9 + 64 * 128 * 9
    batchnorm = 2 * (16 + 32 + 64 + 128)
    head = 128 * 2 + 2
    assert sum(p.numel() for p in model.parameters()) == convs + batchnorm + head
    # any size that survives the halvings works, thanks to the global average pool
    assert SimpleCNN(widths=(4, 8))(torch.rand(2, 3, 37, 50)).shape == (2, 2)


def test_simple_cnn_reads_uint8_and_float_alike():
    model = SimpleCNN(widths=(4, 8)).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    torch.testing.assert_close(model(images), model(images.float() / 255))


def test_normalise_uses_the_statistics_it_was_given():
    images = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8)
    mean, std = channel_stats(images)
    x = images.float() / 255
    torch.testing.assert_close(torch.tensor(mean), x.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(torch.tensor(std), x.transpose(0, 1).reshape(3, -1).std(1))
    out = Normalise(mean, std)(images)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.transpose(0, 1).reshape(3, -1).std(1), torch.ones(3))
    assert {"normalise.mean", "normalise.std"} <= set(dict(SimpleCNN().named_buffers()))  # saved with the weights


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"num_classes": 1}, "num_classes must be an int of at least 2, got 1"),
        ({"widths": ()}, "widths must be a non-empty sequence of positive ints"),
        ({"widths": (16, 0)}, "widths must be a non-empty sequence"),
        ({"mean": (0.5,)}, "mean and std need 3 values"),
        ({"std": (0.2, 0.0, 0.2)}, "std must be positive"),
    ],
)
def test_simple_cnn_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        SimpleCNN(**kwargs)


def test_simple_cnn_wants_a_batch():
    with pytest.raises(ValueError, match=r"for one picture use images\[None\]"):
        SimpleCNN()(torch.rand(3, 64, 64))
    with pytest.raises(ValueError, match="images must be an"):
        channel_stats(torch.rand(3, 8, 8))


def test_predict_probabilities_and_embeddings_in_batches():
    model = SimpleCNN(widths=(4, 8))
    model.train()
    images = torch.randint(0, 256, (7, 3, 16, 16), dtype=torch.uint8)
    probabilities = predict_probabilities(model, images, batch_size=3)
    assert probabilities.shape == (7, 2)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(7))
    assert model.training  # the mode it was in comes back
    model.eval()
    torch.testing.assert_close(probabilities, model(images).softmax(1))
    assert embeddings(model, images, batch_size=4).shape == (7, 8)


class OnMeta(nn.Module):
    """A classifier that claims the meta device (its one parameter lives there): it records the device
    of each batch it is handed and answers from the CPU, so a function that forgets to move its
    input shows up as a "cpu" in ``seen``."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros((), device="meta"))
        self.seen = []

    def embed(self, images):
        self.seen.append(images.device.type)
        return torch.ones(len(images), 8)

    def forward(self, images):
        self.seen.append(images.device.type)
        return torch.tensor([[0.0, 1.0]]).repeat(len(images), 1)


def test_predictions_move_pictures_to_the_models_device_and_answer_on_the_cpu():
    model, images = OnMeta(), torch.zeros(5, 3, 8, 8, dtype=torch.uint8)
    assert predict_probabilities(model, images, batch_size=2).device.type == "cpu"
    assert embeddings(model, images, batch_size=2).device.type == "cpu"
    _, probabilities = explore_prediction(model, images[0], rotation=30, patch=(4, 4, 2))
    assert probabilities.device.type == "cpu"
    plt.close(show_prediction(model, images[0], ("cat", "dog"), true_class=1))
    prediction_explorer(model, images, torch.tensor([0, 1, 0, 1, 0]), ("cat", "dog"))
    assert model.seen == ["meta"] * (3 + 3 + 1 + 1 + 1)
