"""Notebook 01's package parts: SimpleCNN, the classification metrics, the recipe, explain, the widget
and the exercise checkers."""

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from cvlearn import explain
from cvlearn.exercises import classification as ex
from cvlearn.metrics import accuracy, cluster_agreement, confusion_matrix
from cvlearn.models import SimpleCNN, channel_stats, embeddings, predict_probabilities
from cvlearn.models.classification import Normalise
from cvlearn.recipes import RECIPES, Result
from cvlearn.recipes.classification import CONFIG, collate_flipped, make_loaders, random_flip
from cvlearn.widgets.classification import explore_prediction, occlude, prediction_explorer, show_prediction, \
    transform_image

# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


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


@pytest.mark.parametrize("kwargs, words", [
    ({"num_classes": 1}, "num_classes must be an int of at least 2, got 1"),
    ({"widths": ()}, "widths must be a non-empty sequence of positive ints"),
    ({"widths": (16, 0)}, "widths must be a non-empty sequence"),
    ({"mean": (0.5,)}, "mean and std need 3 values"),
    ({"std": (0.2, 0.0, 0.2)}, "std must be positive"),
])
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


# --------------------------------------------------------------------------------------------
# Metrics, against hand-computed cases
# --------------------------------------------------------------------------------------------


def test_accuracy_by_hand():
    assert accuracy(torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 0, 0])) == 0.75
    logits = torch.tensor([[2.0, 1.0], [0.1, 0.9], [3.0, -1.0], [0.2, 0.3]])  # argmax 0, 1, 0, 1
    assert accuracy(logits, torch.tensor([0, 1, 1, 1])) == 0.75
    assert accuracy(torch.tensor([[0.2, 0.7, 0.1]]), torch.tensor([1])) == 1.0
    with pytest.raises(ValueError, match="same number of items"):
        accuracy(torch.tensor([0, 1]), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="targets is empty"):
        accuracy(torch.tensor([]), torch.tensor([]))


def test_confusion_matrix_by_hand():
    targets = torch.tensor([0, 0, 0, 1, 1, 2])
    preds = torch.tensor([0, 1, 0, 1, 2, 2])
    expected = torch.tensor([[2, 1, 0],
                             [0, 1, 1],
                             [0, 0, 1]])
    assert torch.equal(confusion_matrix(preds, targets, 3), expected)
    logits = nn.functional.one_hot(preds, 3).float() * 5
    assert torch.equal(confusion_matrix(logits, targets, 3), expected)
    # pixels: (N, H, W) maps with an ignored label
    truth = torch.tensor([[[0, 1], [255, 1]]])
    pred = torch.tensor([[[0, 0], [1, 1]]])
    assert torch.equal(confusion_matrix(pred, truth, 2, ignore_index=255), torch.tensor([[1, 0], [1, 1]]))
    with pytest.raises(ValueError, match=r"targets must be class indices in \[0, 1\]"):
        confusion_matrix(torch.tensor([0]), torch.tensor([2]), 2)


@pytest.mark.parametrize("clusters, classes, expected", [
    ([0, 0, 1, 1], [0, 0, 1, 1], 1.0),
    ([1, 1, 0, 0], [0, 0, 1, 1], 1.0),          # names swapped: still perfect
    ([0, 0, 0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1, 0, 0], 0.75),  # cluster 0: 3 of 4 cats; cluster 1: 3 of 4 dogs
    ([0, 0, 0, 0], [0, 1, 1, 1], 0.75),          # one cluster: the majority share
    ([2, 2, 0, 0, 1, 1, 1], [1, 1, 0, 1, 0, 0, 0], 6 / 7),
])
def test_cluster_agreement_by_hand(clusters, classes, expected):
    assert cluster_agreement(torch.tensor(clusters), torch.tensor(classes)) == pytest.approx(expected)


def test_cluster_agreement_bad_input():
    with pytest.raises(ValueError, match="same number of items"):
        cluster_agreement(torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(ValueError, match="clusters must be non-negative"):
        cluster_agreement(torch.tensor([-1, 0]), torch.tensor([0, 0]))


# --------------------------------------------------------------------------------------------
# Data pipeline and recipe
# --------------------------------------------------------------------------------------------


def test_random_flip_mirrors_some_pictures_exactly():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 4, 4), dtype=torch.uint8)
    flipped = random_flip(images)
    mirrored = [torch.equal(f, i.flip(-1)) for f, i in zip(flipped, images)]
    kept = [torch.equal(f, i) for f, i in zip(flipped, images)]
    assert all(m or k for m, k in zip(mirrored, kept))
    assert 16 < sum(mirrored) < 48
    batch = collate_flipped([(images[i], torch.tensor(i % 2)) for i in range(4)])
    assert batch[0].shape == (4, 3, 4, 4) and batch[1].tolist() == [0, 1, 0, 1]


def test_loaders_follow_the_config(small):
    train, val = small("toy-pets", "train", n=70), small("toy-pets", "val", n=30)
    train_loader, val_loader = make_loaders(train, val, CONFIG)
    images, labels = next(iter(train_loader))
    assert images.shape == (CONFIG.batch_size, 3, 64, 64) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    assert len(train_loader) == 70 // CONFIG.batch_size  # drop_last: BatchNorm never sees a batch of one
    assert sum(len(y) for _, y in val_loader) == 30


def test_recipe_is_registered_and_runs_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    result = RECIPES["classification"](quick=True, progress=False, checkpoint=tmp_path / "best.pt")
    assert isinstance(result, Result) and result.recipe == "classification"
    assert set(result.metrics) == {"accuracy"} and 0.0 <= result.metrics["accuracy"] <= 1.0
    assert result.train_s > 0 and result.eval_s > 0 and result.params > 0 and result.train_images > 0
    assert result.config["dataset"] == "toy-pets" and result.config["epochs"] == 1
    assert len(result.history.epochs) == 1
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 1


def test_recipe_repeats_itself_in_one_process(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    first, second = (RECIPES["classification"](quick=True, progress=False) for _ in range(2))
    assert first.history.step_losses == second.history.step_losses
    assert first.metrics == second.metrics


def test_the_notebook_configuration_is_the_benchmarked_one():
    assert CONFIG.dataset == "toy-pets" and CONFIG.epochs >= 1 and CONFIG.flip
    # the recipe reads CONFIG when not quick: changing it changes what `cvlearn bench` measures
    import inspect
    from cvlearn.recipes import classification as recipe_module
    assert "QUICK if quick else CONFIG" in inspect.getsource(recipe_module.classification)


# --------------------------------------------------------------------------------------------
# Looking inside
# --------------------------------------------------------------------------------------------


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
    assert cam.shape == (3, 32, 32) and 0 <= cam.min() and cam.max() <= 1
    assert not model.features[0]._forward_hooks  # hooks are removed afterwards
    with pytest.raises(TypeError, match="layer must be an nn.Module"):
        explain.feature_maps(model, images, "features.0")


# --------------------------------------------------------------------------------------------
# The widget's pure functions
# --------------------------------------------------------------------------------------------


def test_transform_image_pieces():
    image = torch.randint(10, 200, (3, 16, 16), dtype=torch.uint8)
    assert torch.equal(transform_image(image), image)
    assert transform_image(image, brightness=0.0).max() == 0
    assert torch.equal(transform_image(image, rotation=360), image) or \
        (transform_image(image, rotation=360).int() - image.int()).abs().max() <= 1
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


# --------------------------------------------------------------------------------------------
# Exercise checkers: each accepts the worked solution and rejects a wrong answer with a hint
# --------------------------------------------------------------------------------------------


def solution_accuracy(logits, targets):
    return (logits.argmax(dim=1) == targets).float().mean().item()


def solution_conv_output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def solution_colour_shortcut(images, labels):
    marked = images.clone()
    red = torch.tensor([255, 0, 0], dtype=torch.uint8).view(3, 1, 1)
    marked[labels == 1, :, :ex.SHORTCUT_SIZE, :ex.SHORTCUT_SIZE] = red
    return marked


def solution_cluster_agreement(clusters, classes):
    total = 0
    for c in clusters.unique():
        total += torch.bincount(classes[clusters == c]).max().item()
    return total / len(classes)


def test_checkers_accept_the_solutions(capsys):
    assert ex.check_accuracy(solution_accuracy)
    assert ex.check_conv_output_size(solution_conv_output_size)
    assert ex.check_colour_shortcut(solution_colour_shortcut)
    assert ex.check_cluster_agreement(solution_cluster_agreement)
    out = capsys.readouterr().out
    assert out.count("✓") == 4 and "✗" not in out


def _rejects(feedback, *words):
    assert not feedback and str(feedback).startswith("✗")
    for word in words:
        assert word in feedback.message, feedback.message


def test_accuracy_checker_hints():
    _rejects(ex.check_accuracy(lambda lg, t: (lg.argmax(1) == t).sum().item(), quiet=True), "divide by the number")
    _rejects(ex.check_accuracy(lambda lg, t: (lg.argmax(1) == t).float().mean(), quiet=True), ".item()")
    _rejects(ex.check_accuracy(lambda lg, t: (lg.argmax(0)[:1] == t[:1]).float().mean().item(), quiet=True),
             "logits.argmax(dim=1)")
    _rejects(ex.check_accuracy(lambda lg, t: (lg == t[:, None]).float(), quiet=True), "argmax")
    _rejects(ex.check_accuracy(lambda lg, t: 1 / 0, quiet=True), "ZeroDivisionError")
    _rejects(ex.check_accuracy("accuracy", quiet=True), "expected a function")


def test_conv_checker_hints():
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) // s, quiet=True), "+ 1")
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: (n + p - k) // s + 1, quiet=True), "2 * padding")
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) / s + 1, quiet=True), "round down")
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: n + 2 * p - k + 1, quiet=True), "stride")
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: None, quiet=True), "whole number")


def test_colour_shortcut_checker_hints():
    def in_place(images, labels):
        images[labels == 1, 0, :6, :6] = 255
        return images

    def everyone(images, labels):
        return solution_colour_shortcut(images, torch.ones_like(labels))

    def green(images, labels):
        out = images.clone()
        out[labels == 1, :, :6, :6] = torch.tensor([0, 255, 0], dtype=torch.uint8).view(3, 1, 1)
        return out

    def too_big(images, labels):
        out = images.clone()
        out[labels == 1, :, :8, :8] = torch.tensor([255, 0, 0], dtype=torch.uint8).view(3, 1, 1)
        return out

    _rejects(ex.check_colour_shortcut(in_place, quiet=True), "on a copy")
    _rejects(ex.check_colour_shortcut(everyone, quiet=True), "is a cat and was changed")
    _rejects(ex.check_colour_shortcut(green, quiet=True), "pure red")
    _rejects(ex.check_colour_shortcut(too_big, quiet=True), "outside the 6×6 corner")
    _rejects(ex.check_colour_shortcut(lambda images, labels: images.float(), quiet=True), "uint8 tensor")


def test_cluster_checker_hints():
    _rejects(ex.check_cluster_agreement(lambda c, y: (c == y).float().mean().item(), quiet=True),
             "cluster numbers are arbitrary")
    _rejects(ex.check_cluster_agreement(lambda c, y: 0.5, quiet=True), "keep the biggest count")
    _rejects(ex.check_cluster_agreement(lambda c, y: "high", quiet=True), "one number")


def test_checker_messages_are_one_line(capsys):
    ex.check_accuracy(lambda lg, t: 0.0)
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("✗ accuracy:")
