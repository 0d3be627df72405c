"""cvlearn.train: fit on one tiny epoch, its checkpoint, its history, and its argument errors."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cvlearn.metrics import accuracy
from cvlearn.train import History, fit, load_checkpoint, pick_device, save_checkpoint, seed_everything


def _data(n=48, seed=0):
    """Two separable blobs in 8-D: a task a linear model learns in a few steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 8, generator=g) + 2.5 * (2 * y[:, None].float() - 1)
    return x, y


def _loaders(batch_size=8):
    x, y = _data()
    return (DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True),
            DataLoader(TensorDataset(*_data(16, seed=1)), batch_size=8))


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def test_one_tiny_epoch_records_history_and_learns(tmp_path):
    train, val = _loaders()
    model = _model()
    h = fit(model, train, val, epochs=3, lr=0.05, loss_fn=nn.CrossEntropyLoss(), metrics={"accuracy": accuracy},
            checkpoint=tmp_path / "best.pt", progress=False)
    assert isinstance(h, History) and len(h.epochs) == 3
    assert h["epoch"] == [1, 2, 3]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        assert len(h[key]) == 3, key
    assert len(h.step_losses) == 3 * len(train)
    assert all(math.isfinite(v) for v in h.step_losses)
    assert h.monitor == "val_loss" and h.mode == "min"
    assert h.best == min(h.epochs, key=lambda e: e["val_loss"])
    assert h.seconds == pytest.approx(sum(h["seconds"]))
    assert h["val_accuracy"][-1] == 1.0  # the blobs are far apart
    assert h.device == "cpu" and not model.training  # left in eval mode
    assert "History(3 epochs" in repr(h)


def test_checkpoint_holds_the_best_weights_and_reloads_with_weights_only(tmp_path):
    train, val = _loaders()
    model = _model()
    path = tmp_path / "sub" / "best.pt"
    h = fit(model, train, val, epochs=2, lr=0.05, loss_fn=nn.CrossEntropyLoss(), checkpoint=path, progress=False)
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == h.best["epoch"] and state["monitor"] == "val_loss"
    assert state["val_loss"] == pytest.approx(h.best["val_loss"])
    fresh = _model()
    meta = load_checkpoint(fresh, path)
    assert meta["epoch"] == h.best["epoch"]
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(a, b)  # restore_best put the same weights back into the model
    assert not list(path.parent.glob(".*.tmp"))  # no temporary files left behind


def test_restore_best_keeps_the_best_epoch_not_the_last(tmp_path):
    train, val = _loaders()
    model = _model()
    # monitor the learning rate with mode="max": the one-cycle peak is never the last epoch
    h = fit(model, train, val, epochs=4, lr=0.05, loss_fn=nn.CrossEntropyLoss(), monitor="lr", mode="max",
            checkpoint=tmp_path / "best.pt", progress=False)
    assert h.best["epoch"] != 4
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == h.best["epoch"]


def test_same_seed_same_run():
    runs = []
    for _ in range(2):
        train, val = _loaders()
        model = _model()
        h = fit(model, train, val, epochs=2, lr=0.05, loss_fn=nn.CrossEntropyLoss(), seed=3, progress=False)
        runs.append((h.step_losses, [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_model_that_returns_its_losses_and_evaluate_hook():
    class SelfScoring(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = _model()

        def forward(self, x, y=None):
            out = self.net(x)
            return {"ce": nn.functional.cross_entropy(out, y), "zero": out.sum() * 0} if self.training else out

    train, _ = _loaders()
    model = SelfScoring()
    x, y = _data(16, seed=1)
    h = fit(model, train, epochs=2, lr=0.05, evaluate=lambda m: {"accuracy": accuracy(m(x), y)}, progress=False)
    assert h["val_accuracy"][-1] == 1.0 and h.monitor == "train_loss"


def test_max_seconds_stops_early():
    train, val = _loaders(batch_size=2)
    h = fit(_model(), train, val, epochs=50, lr=0.01, loss_fn=nn.CrossEntropyLoss(), max_seconds=1e-9,
            progress=False)
    assert len(h.epochs) == 1 and len(h.step_losses) == 1


def test_channels_last_trains_a_cnn():
    x = torch.rand(8, 3, 8, 8)
    y = torch.tensor([0, 1] * 4)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    h = fit(model, DataLoader(TensorDataset(x, y), batch_size=4), epochs=1, lr=0.01, loss_fn=nn.CrossEntropyLoss(),
            channels_last=True, progress=False)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert len(h.step_losses) == 2


def test_diverging_loss_names_the_learning_rate():
    train, _ = _loaders()
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(_model(), train, epochs=1, lr=1e30, loss_fn=lambda out, y: out.sum() * float("inf"), progress=False)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"epochs": 0}, ValueError, "epochs must be a positive int, got 0"),
    ({"epochs": 2.5}, ValueError, "epochs must be a positive int"),
    ({"lr": -1.0}, ValueError, "lr must be a positive number, got -1.0"),
    ({"lr": "fast"}, ValueError, "lr must be a positive number"),
    ({"weight_decay": -0.1}, ValueError, "weight_decay must be a number >= 0"),
    ({"optimizer": "adam"}, ValueError, "optimizer must be 'adamw', 'sgd'"),
    ({"schedule": "steps"}, ValueError, "schedule must be 'onecycle', 'cosine' or None"),
    ({"mode": "best"}, ValueError, "mode must be 'min', 'max'"),
    ({"max_seconds": 0}, ValueError, "max_seconds must be a positive number"),
    ({"metrics": ["accuracy"]}, TypeError, "metrics must be a dict"),
    ({"loss_fn": "cross-entropy"}, TypeError, "loss_fn must be callable"),
    ({"checkpoint": 3}, TypeError, "checkpoint must be a file path"),
    ({"device": "tpu"}, ValueError, "device must be 'cpu', 'cuda', 'mps'"),
    ({"monitor": "val_f1"}, ValueError, "monitor must be a value fit records: .*'val_loss'.*; got 'val_f1'"),
])
def test_bad_arguments_say_what_was_expected(kwargs, error, words):
    train, val = _loaders()
    args = {"epochs": 1, "loss_fn": nn.CrossEntropyLoss(), "progress": False, **kwargs}
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        fit(_model(), train, val, **args)


class _SelfScoring(nn.Module):
    """A model that returns its own loss in train mode, as torchvision's detection models do."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 3)
        self.steps = 0

    def forward(self, x, y=None):
        self.steps += self.training
        return {"loss": nn.functional.cross_entropy(self.linear(x), y)} if self.training else self.linear(x)


def test_monitor_is_refused_before_any_training_step():
    train, val = _loaders()
    model = _SelfScoring()
    with pytest.raises(ValueError, match="val_loader needs loss_fn"):
        fit(model, train, val, epochs=1, progress=False)
    with pytest.raises(ValueError, match="monitor must be a value fit records"):
        fit(model, train, epochs=1, monitor="val_accuracy", progress=False)
    assert model.steps == 0
    history = fit(model, train, epochs=1, evaluate=lambda m: {"accuracy": 0.5}, monitor="val_accuracy",
                  progress=False)
    assert history.best["val_accuracy"] == 0.5 and model.steps == len(train)


def test_bad_model_and_loaders():
    train, _ = _loaders()
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        fit("resnet", train, epochs=1)
    with pytest.raises(TypeError, match="train_loader must be an iterable"):
        fit(_model(), 42, epochs=1)
    empty = DataLoader(TensorDataset(torch.zeros(0, 8), torch.zeros(0, dtype=torch.long)), batch_size=4)
    with pytest.raises(ValueError, match="train_loader has no batches"):
        fit(_model(), empty, epochs=1, loss_fn=nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="needs to know the number of steps"):
        fit(_model(), (batch for batch in train), epochs=1, loss_fn=nn.CrossEntropyLoss(), progress=False)


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(None).type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")


def test_save_checkpoint_is_atomic_and_plain(tmp_path):
    model = _model()
    path = save_checkpoint(model, tmp_path / "m.pt", epoch=3, note="hello", scores=[0.5, 0.7])
    meta = load_checkpoint(_model(), path)
    assert meta == {"epoch": 3, "note": "hello", "scores": [0.5, 0.7]}
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_seed_everything_repeats_random_numbers():
    seed_everything(5)
    a = torch.rand(3)
    seed_everything(5)
    assert torch.equal(a, torch.rand(3))
