"""cvlearn.train: fit on one tiny epoch, its checkpoint, its history, its callbacks and its argument errors."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import cvlearn.train
from cvlearn.metrics import accuracy
from cvlearn.models.segmentation import FCN
from cvlearn.train import (
    Callback,
    History,
    TimeBudget,
    TrainingState,
    fit,
    load_checkpoint,
    pick_device,
    save_checkpoint,
    seed_everything,
)


def _data(n=48, seed=0):
    """Two separable blobs in 8-D: a task a linear model learns in a few steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 8, generator=g) + 2.5 * (2 * y[:, None].float() - 1)
    return x, y


def _loaders(batch_size=8):
    x, y = _data()
    return (
        DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True),
        DataLoader(TensorDataset(*_data(16, seed=1)), batch_size=8),
    )


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def test_one_tiny_epoch_records_history_and_learns(tmp_path):
    train, val = _loaders()
    model = _model()
    h = fit(
        model,
        train,
        val,
        epochs=3,
        lr=0.05,
        loss_fn=nn.CrossEntropyLoss(),
        metrics={"accuracy": accuracy},
        checkpoint=tmp_path / "best.pt",
        progress=False,
    )
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
    h = fit(
        model,
        train,
        val,
        epochs=4,
        lr=0.05,
        loss_fn=nn.CrossEntropyLoss(),
        monitor="lr",
        mode="max",
        checkpoint=tmp_path / "best.pt",
        progress=False,
    )
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
    h = fit(_model(), train, val, epochs=50, lr=0.01, loss_fn=nn.CrossEntropyLoss(), max_seconds=1e-9, progress=False)
    assert len(h.epochs) == 1 and len(h.step_losses) == 1
    assert "val_loss" in h.epochs[0]  # the epoch that ran out of time is still validated
    assert h.stop_reason == "the time budget of 1e-09 s is spent"


class _Recorder(Callback):
    """Writes down every hook call: (hook, epoch, step, loss, model in train mode, epochs recorded)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_step_end(self, state: TrainingState) -> None:
        self.calls.append(
            ("step", state.epoch, state.step, state.loss, state.model.training, len(state.history.epochs))
        )

    def on_epoch_end(self, state: TrainingState) -> None:
        self.calls.append(
            ("epoch", state.epoch, state.step, state.loss, state.model.training, len(state.history.epochs))
        )


class _StopAt(Callback):
    def __init__(self, step: int = 0, epoch: int = 0) -> None:
        self.step, self.epoch = step, epoch

    def on_step_end(self, state: TrainingState) -> None:
        if state.step == self.step:
            state.request_stop(f"asked to stop at step {self.step}")

    def on_epoch_end(self, state: TrainingState) -> None:
        if state.epoch == self.epoch:
            state.request_stop(f"asked to stop after epoch {self.epoch}")


class _Counted(TensorDataset):
    """A dataset that counts the items drawn from it."""

    drawn = 0

    def __getitem__(self, index):
        self.drawn += 1
        return super().__getitem__(index)


def test_callbacks_see_every_step_and_every_epoch():
    train, val = _loaders()
    recorder = _Recorder()
    h = fit(
        _model(), train, val, epochs=3, lr=0.05, loss_fn=nn.CrossEntropyLoss(), callbacks=[recorder], progress=False
    )
    steps = [c for c in recorder.calls if c[0] == "step"]
    epochs = [c for c in recorder.calls if c[0] == "epoch"]
    assert [c[2] for c in steps] == list(range(1, 3 * len(train) + 1))
    assert [c[3] for c in steps] == h.step_losses
    assert [c[1] for c in steps] == [e for e in (1, 2, 3) for _ in range(len(train))]
    assert all(c[4] for c in steps) and not any(c[4] for c in epochs)  # train mode, then eval mode after validation
    assert [(c[1], c[2], c[5]) for c in epochs] == [(e, e * len(train), e) for e in (1, 2, 3)]
    assert recorder.calls.index(epochs[0]) == len(train)  # each epoch's hook comes after its last step's
    assert h.stop_reason is None


@pytest.mark.parametrize("k", [1, 4, 6, 7])
def test_a_stop_request_on_step_k_ends_training_after_exactly_k_steps(k):
    x, y = _data()
    counted = _Counted(x, y)
    train = DataLoader(counted, batch_size=8, shuffle=True)  # 6 steps per epoch
    _, val = _loaders()
    h = fit(
        _model(),
        train,
        val,
        epochs=3,
        lr=0.05,
        loss_fn=nn.CrossEntropyLoss(),
        callbacks=[_StopAt(step=k)],
        progress=False,
    )
    assert len(h.step_losses) == k and counted.drawn == 8 * k  # no batch drawn after the stop
    assert len(h.epochs) == math.ceil(k / len(train)) and "val_loss" in h.epochs[-1]
    assert h.stop_reason == f"asked to stop at step {k}"


def test_a_stop_request_at_an_epoch_end_ends_training_after_that_epoch():
    train, _ = _loaders()
    recorder = _Recorder()
    h = fit(
        _model(),
        train,
        epochs=5,
        lr=0.05,
        loss_fn=nn.CrossEntropyLoss(),
        callbacks=[_StopAt(epoch=2), recorder],
        progress=False,
    )
    assert len(h.epochs) == 2 and len(h.step_losses) == 2 * len(train)
    assert h.stop_reason == "asked to stop after epoch 2"
    assert recorder.calls[-1][:3] == ("epoch", 2, 2 * len(train))  # later callbacks still see that epoch


def test_the_first_stop_reason_is_kept():
    train, _ = _loaders()
    h = fit(
        _model(),
        train,
        epochs=2,
        lr=0.05,
        loss_fn=nn.CrossEntropyLoss(),
        callbacks=[_StopAt(step=1), TimeBudget(1e-9)],
        progress=False,
    )
    assert h.stop_reason == "asked to stop at step 1" and len(h.step_losses) == 1


def test_callbacks_and_evaluate_together():
    train, _ = _loaders()
    x, y = _data(16, seed=1)
    evaluated = []

    def evaluate(model):
        hooks = [c[0] for c in model_steps.calls]
        evaluated.append((hooks.count("step"), hooks.count("epoch")))
        return {"accuracy": accuracy(model(x), y)}

    class SeesScores(Callback):
        def __init__(self) -> None:
            self.scores: list[float] = []

        def on_epoch_end(self, state: TrainingState) -> None:
            self.scores.append(state.history.epochs[-1]["val_accuracy"])

    model_steps, sees = _Recorder(), SeesScores()
    h = fit(
        _model(),
        train,
        epochs=3,
        lr=0.05,
        loss_fn=nn.CrossEntropyLoss(),
        evaluate=evaluate,
        callbacks=[model_steps, sees, _StopAt(step=2 * len(train) + 1)],
        progress=False,
    )
    assert sees.scores == h["val_accuracy"] and len(h.epochs) == 3
    # evaluate runs after each epoch's last step and before its on_epoch_end, the stopped epoch included
    assert evaluated == [(len(train), 0), (2 * len(train), 1), (2 * len(train) + 1, 2)]
    assert h.stop_reason is not None and len(h.step_losses) == 2 * len(train) + 1


def test_time_budget_counts_training_time_only(monkeypatch):
    """A clock that only moves when told to: each step takes 1 s, each callback call 100 s."""
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(cvlearn.train, "time", SimpleNamespace(perf_counter=lambda: clock.now))

    def slow_loss(outputs, targets):
        clock.now += 1.0
        return nn.functional.cross_entropy(outputs, targets)

    class SlowCallback(Callback):
        def on_step_end(self, state: TrainingState) -> None:
            clock.now += 100.0

    train, _ = _loaders()
    h = fit(
        _model(),
        train,
        epochs=3,
        lr=0.05,
        loss_fn=slow_loss,
        callbacks=[SlowCallback(), TimeBudget(2.5)],
        progress=False,
    )
    assert len(h.step_losses) == 3 and h.seconds == 3.0
    assert h.stop_reason == "the time budget of 2.5 s is spent"
    h = fit(
        _model(), train, epochs=2, lr=0.05, loss_fn=slow_loss, callbacks=[SlowCallback()], max_seconds=7, progress=False
    )
    assert len(h.step_losses) == 7 and h["seconds"] == [6.0, 1.0]


def test_channels_last_trains_a_cnn():
    x = torch.rand(8, 3, 8, 8)
    y = torch.tensor([0, 1] * 4)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    h = fit(
        model,
        DataLoader(TensorDataset(x, y), batch_size=4),
        epochs=1,
        lr=0.01,
        loss_fn=nn.CrossEntropyLoss(),
        channels_last=True,
        progress=False,
    )
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert len(h.step_losses) == 2


def test_diverging_loss_names_the_learning_rate():
    train, _ = _loaders()
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(_model(), train, epochs=1, lr=1e30, loss_fn=lambda out, y: out.sum() * float("inf"), progress=False)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
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
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs, error, words):
    train, val = _loaders()
    args = {"epochs": 1, "loss_fn": nn.CrossEntropyLoss(), "progress": False, **kwargs}
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        fit(_model(), train, val, **args)


@pytest.mark.parametrize(
    "callbacks, words",
    [
        (TimeBudget(5), "callbacks must be a list of Callback objects, got a single TimeBudget; wrap it in a list"),
        ("stop", "callbacks must be a list of cvlearn.train.Callback objects, got str"),
        ([TimeBudget], r"callbacks\[0\] is the class TimeBudget, not an object of it; call it: TimeBudget\(...\)"),
        ([TimeBudget(5), print], r"callbacks\[1\] must be a cvlearn.train.Callback .*got builtin_function_or_method"),
        (
            [SimpleNamespace(on_step_end=print)],
            r"callbacks\[0\] must be a cvlearn.train.Callback .*got SimpleNamespace",
        ),
    ],
)
def test_bad_callbacks_are_a_type_error_naming_the_argument(callbacks, words):
    train, _ = _loaders()
    model = _SelfScoring()
    with pytest.raises(TypeError, match=words):
        fit(model, train, epochs=1, callbacks=callbacks, progress=False)
    assert model.steps == 0  # refused before any training


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan"), "60", True])
def test_time_budget_needs_a_positive_number(seconds):
    with pytest.raises(ValueError, match="seconds must be a positive number"):
        TimeBudget(seconds)


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
    history = fit(model, train, epochs=1, evaluate=lambda m: {"accuracy": 0.5}, monitor="val_accuracy", progress=False)
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


def test_fit_moves_a_weighted_loss_with_the_model():
    moved = []

    class RecordingLoss(torch.nn.CrossEntropyLoss):
        def to(self, *args, **kwargs):
            moved.append(torch.device(args[0]))
            return super().to(*args, **kwargs)

    masks = torch.randint(0, 3, (2, 8, 8), generator=torch.Generator().manual_seed(0))
    masks[:, ::4] = 255  # outlines nobody labelled, as in VOC
    loader = DataLoader(TensorDataset(torch.rand(2, 3, 8, 8), masks), batch_size=2)
    fit(
        FCN(3, width=4, depth=2),
        loader,
        loss_fn=RecordingLoss(weight=torch.ones(3), ignore_index=255),
        epochs=1,
        device="cpu",
        progress=False,
    )
    assert moved == [torch.device("cpu")]


def test_parameter_groups_each_follow_the_one_cycle_schedule_to_their_own_peak():
    model = _model()
    optimizer = torch.optim.AdamW(
        [{"params": model[0].parameters(), "lr": 0.001}, {"params": model[2].parameters(), "lr": 0.01}]
    )
    seen: list[list[float]] = []

    class Rates(Callback):
        def on_step_end(self, state):
            seen.append([group["lr"] for group in state.optimizer.param_groups])

    train, _ = _loaders()
    fit(model, train, epochs=3, loss_fn=nn.CrossEntropyLoss(), optimizer=optimizer, callbacks=[Rates()], progress=False)
    peaks = [max(rates[i] for rates in seen) for i in range(2)]
    assert peaks == pytest.approx([0.001, 0.01], rel=0.05)
    assert all(math.isclose(fast / slow, 10, rel_tol=1e-6) for slow, fast in seen)
