"""A reusable training loop: ``fit`` trains any model of the course and returns its ``History``.

The loop is the one every PyTorch course writes by hand (forward, loss, backward, step), plus
what makes it pleasant: a ``tqdm.auto`` progress bar, a one-cycle learning-rate schedule,
validation after each epoch, the best weights kept in an atomic checkpoint, seeding, and the
device picked for you (CUDA, then Apple's MPS, then the CPU).

Anything else happens in a :class:`Callback`: ``fit`` calls its ``on_step_end`` after every
training step and its ``on_epoch_end`` after every epoch, and a callback ends training by calling
``state.request_stop(reason)``. :class:`TimeBudget` is one (it is what ``max_seconds`` uses).

Two kinds of model are supported:

* ``loss_fn`` given: ``outputs = model(inputs)`` and ``loss = loss_fn(outputs, targets)``;
* ``loss_fn=None``: the model computes its own losses, ``model(inputs, targets) -> dict``, as
  torchvision's detection models do in training mode; their sum is minimised.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

__all__ = [
    "Callback",
    "History",
    "Metric",
    "TimeBudget",
    "TrainingState",
    "fit",
    "load_checkpoint",
    "pick_device",
    "save_checkpoint",
    "seed_everything",
    "to_device",
]

Metric = Callable[[Any, Any], float]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run can be repeated exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA, else MPS, else the CPU.

    A device that is asked for by name but is not there (``"cuda"`` on a laptop) is a ValueError
    that says so, rather than an error from deep inside torch later on.
    """
    if device not in (None, "auto"):
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device must be 'cpu', 'cuda', 'mps', 'auto' or None, got {device!r}") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={str(device)!r} was asked for but this machine has no CUDA GPU; "
                "use device=None to pick what there is"
            )
        if device.type == "mps" and not _mps_available():
            raise ValueError(
                f"device={str(device)!r} was asked for but Apple's MPS is not available here; "
                "use device=None to pick what there is"
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def to_device(obj: Any, device: torch.device) -> Any:
    """Move tensors, and tensors inside lists, tuples and dicts, to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def save_checkpoint(model: nn.Module, path: str | Path, **meta: Any) -> Path:
    """Write ``{"model": state_dict, **meta}`` atomically (temporary file, then rename).

    ``meta`` must hold plain values (numbers, strings, lists, dicts) so that the file loads
    with ``torch.load(..., weights_only=True)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"model": model.state_dict(), **meta}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(model: nn.Module, path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load weights saved by :func:`save_checkpoint` into ``model``; returns the metadata."""
    state = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(state.pop("model"))
    return state


@dataclass
class History:
    """What happened during training: one record per epoch, and the loss of every step.

    ``history["val_accuracy"]`` gives one value per epoch; ``history.best`` is the record of
    the best epoch by the monitored value; ``history.seconds`` the training time;
    ``history.stop_reason`` why a callback ended training early (``None`` if none did).
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    monitor: str | None = None
    mode: str = "min"
    checkpoint: str | None = None
    device: str = "cpu"
    stop_reason: str | None = None

    def __getitem__(self, key: str) -> list[float]:
        return [e[key] for e in self.epochs if key in e]

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for e in self.epochs for k in e))

    @property
    def seconds(self) -> float:
        return float(sum(e["seconds"] for e in self.epochs))

    @property
    def best(self) -> dict[str, float] | None:
        monitor = self.monitor or ""
        scored = [e for e in self.epochs if monitor in e]
        if not scored:
            return self.epochs[-1] if self.epochs else None
        pick = min if self.mode == "min" else max
        return pick(scored, key=lambda e: e[monitor])

    def __repr__(self) -> str:
        last = self.epochs[-1] if self.epochs else {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k not in ("epoch",))
        return f"History({len(self.epochs)} epochs; last: {shown})"


@dataclass
class TrainingState:
    """What ``fit`` shows a :class:`Callback` after each training step and each epoch.

    model: the model being trained; in train mode in ``on_step_end``, in eval mode in
        ``on_epoch_end`` (the epoch has been validated).
    optimizer: the optimizer taking the steps.
    history: the :class:`History` so far; in ``on_epoch_end`` its last record is this epoch's.
    epochs: how many epochs ``fit`` was asked for; epoch: the current one, from 1.
    step: training steps taken so far, over all epochs (1 after the first).
    loss: the last step's training loss.
    seconds: training time so far: drawing batches and taking steps, not validation,
        ``evaluate`` or the callbacks themselves.
    stop_reason: why training is to stop, set by :meth:`request_stop`; ``None`` while it goes on.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    history: History
    epochs: int
    epoch: int = 0
    step: int = 0
    loss: float = math.nan
    seconds: float = 0.0
    stop_reason: str | None = None

    def request_stop(self, reason: str = "a callback asked to stop") -> None:
        """Ask ``fit`` to stop after the current step (or epoch); the first reason given is kept."""
        if self.stop_reason is None:
            self.stop_reason = reason

    @property
    def stopping(self) -> bool:
        return self.stop_reason is not None


class Callback:
    """Code that ``fit`` runs during training: subclass it and override the hooks you need.

    ``fit(..., callbacks=[first, second])`` calls ``first``'s hook, then ``second``'s, after every
    training step (``on_step_end``) and after every epoch (``on_epoch_end``). A hook reads the
    :class:`TrainingState` and may end training with ``state.request_stop(reason)``::

        class StopBelow(Callback):
            def __init__(self, loss: float) -> None:
                self.loss = loss

            def on_step_end(self, state: TrainingState) -> None:
                if state.loss < self.loss:
                    state.request_stop(f"the loss fell below {self.loss}")
    """

    def on_step_end(self, state: TrainingState) -> None:
        """After each training step: the batch has been drawn, the loss computed and the weights updated."""

    def on_epoch_end(self, state: TrainingState) -> None:
        """After each epoch, once it is validated, scored by ``evaluate`` and recorded in the history."""


class TimeBudget(Callback):
    """Stop once training has taken ``seconds``; ``fit(max_seconds=...)`` adds one of these.

    Only training time counts (``state.seconds``), so validation, ``evaluate`` and other callbacks
    do not eat into the budget. The step during which the budget runs out is finished, and its
    epoch validated, as usual.
    """

    def __init__(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        self.seconds = float(seconds)

    def on_step_end(self, state: TrainingState) -> None:
        if state.seconds >= self.seconds:
            state.request_stop(f"the time budget of {self.seconds:g} s is spent")


def _batch_size(inputs: Any) -> int:
    return len(inputs) if isinstance(inputs, (list, tuple)) else int(inputs.shape[0])


def _losses(model: nn.Module, inputs: Any, targets: Any, loss_fn: Callable | None) -> tuple[torch.Tensor, Any]:
    """The loss to minimise and the model's outputs (``None`` for models that return losses)."""
    if loss_fn is None:
        loss_dict = model(inputs, targets)
        if not isinstance(loss_dict, Mapping):
            raise TypeError(
                "with loss_fn=None the model must return a dict of losses in training mode, "
                f"got {type(loss_dict).__name__}; pass loss_fn=... for an ordinary model"
            )
        return cast(torch.Tensor, sum(loss_dict.values())), None
    outputs = model(inputs)
    return loss_fn(outputs, targets), outputs


class _Means:
    """Running means weighted by batch size.

    Values may be floats or tensors; tensors are summed where they live (on the GPU, say) and
    read only once, at the end of the epoch, so that a metric costs no extra sync per step.
    """

    def __init__(self) -> None:
        self.sums: dict[str, Any] = {}
        self.count = 0

    def add(self, values: dict[str, Any], n: int) -> None:
        for k, v in values.items():
            v = v.detach() if isinstance(v, torch.Tensor) else float(v)
            self.sums[k] = self.sums.get(k, 0.0) + v * n
        self.count += n

    def result(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}{k}": float(v) / max(self.count, 1) for k, v in self.sums.items()}


def _step(
    model: nn.Module,
    inputs: Any,
    targets: Any,
    loss_fn: Callable | None,
    metrics: dict[str, Metric],
    optimizer: torch.optim.Optimizer | None,
    scheduler: Any,
) -> dict[str, Any]:
    """One batch, already on the device: its loss and, when an optimizer is given, the update.

    Returns the values an epoch averages: ``loss`` (a float, the one number read back from the
    device per step) and the metrics (left on the device until the epoch ends).
    """
    training = optimizer is not None
    with torch.set_grad_enabled(training):
        loss, outputs = _losses(model, inputs, targets, loss_fn)
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        raise FloatingPointError(f"the loss became {loss_value}; lower the learning rate (lr)")
    if optimizer is not None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    values: dict[str, Any] = {"loss": loss_value}
    if outputs is not None and metrics:
        with torch.no_grad():
            values.update({name: fn(outputs, targets) for name, fn in metrics.items()})
    return values


def _means_of(means: _Means) -> dict[str, float]:
    if means.count == 0:
        raise ValueError(
            "a data loader gave no batches; check its dataset is not empty "
            "(and drop_last=False when it holds fewer items than one batch)"
        )
    return means.result("")


def _train_epoch(
    model: nn.Module,
    loader: Iterable,
    device: torch.device,
    loss_fn: Callable | None,
    metrics: dict[str, Metric],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    bar: Any,
    state: TrainingState,
    callbacks: list[Callback],
) -> dict[str, float]:
    """One training pass over ``loader``, calling ``on_step_end`` after each step; returns its means.

    A stop request ends the pass after the step during which it was made.
    """
    means = _Means()
    started = time.perf_counter() - state.seconds
    for inputs, targets in loader:
        inputs, targets = to_device(inputs, device), to_device(targets, device)
        values = _step(model, inputs, targets, loss_fn, metrics, optimizer, scheduler)
        means.add(values, _batch_size(inputs))
        state.history.step_losses.append(values["loss"])
        bar.set_postfix_str(f"loss={values['loss']:.3f}", refresh=False)
        bar.update(1)
        state.step, state.loss, state.seconds = state.step + 1, values["loss"], time.perf_counter() - started
        for callback in callbacks:
            callback.on_step_end(state)
        started = time.perf_counter() - state.seconds  # time spent in callbacks is not training time
        if state.stopping:
            break
    return _means_of(means)


def _validate(
    model: nn.Module, loader: Iterable, device: torch.device, loss_fn: Callable | None, metrics: dict[str, Metric]
) -> dict[str, float]:
    """The means of the loss and metrics over ``loader``, without training."""
    means = _Means()
    for inputs, targets in loader:
        inputs, targets = to_device(inputs, device), to_device(targets, device)
        means.add(_step(model, inputs, targets, loss_fn, metrics, None, None), _batch_size(inputs))
    return _means_of(means)


def _make_optimizer(
    model: nn.Module, optimizer: str | torch.optim.Optimizer, lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'adamw', 'sgd' or a torch.optim.Optimizer, got {optimizer!r}")


def _make_scheduler(optimizer: torch.optim.Optimizer, schedule: str | None, total_steps: int) -> Any:
    if schedule is None:
        return None
    if schedule == "onecycle":
        # each parameter group peaks at its own learning rate (a pretrained backbone's lower one)
        peaks = [group.get("max_lr", group["lr"]) for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=peaks, total_steps=max(total_steps, 1), pct_start=0.2
        )
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    raise ValueError(f"schedule must be 'onecycle', 'cosine' or None, got {schedule!r}")


def _check_fit_arguments(
    model: Any,
    train_loader: Any,
    val_loader: Any,
    epochs: Any,
    loss_fn: Any,
    metrics: Any,
    evaluate: Any,
    lr: Any,
    weight_decay: Any,
    mode: Any,
    max_seconds: Any,
    checkpoint: Any,
) -> None:
    """ValueError/TypeError naming the argument, what was expected and what came in."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
        if loader is not None and not isinstance(loader, Iterable):
            raise TypeError(
                f"{name} must be an iterable of (inputs, targets) batches such as a DataLoader, "
                f"got {type(loader).__name__}"
            )
    if train_loader is None:
        raise TypeError("train_loader must be an iterable of (inputs, targets) batches, got None")
    if hasattr(train_loader, "__len__") and len(train_loader) == 0:
        raise ValueError(
            "train_loader has no batches; check its dataset is not empty "
            "(and drop_last=False when it holds fewer items than one batch)"
        )
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    for name, fn in (("loss_fn", loss_fn), ("evaluate", evaluate)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable or None, got {type(fn).__name__}")
    if metrics is not None and (not isinstance(metrics, Mapping) or not all(callable(f) for f in metrics.values())):
        raise TypeError(
            "metrics must be a dict {name: fn(outputs, targets) -> number}, "
            f"got {type(metrics).__name__}: {metrics!r}"
        )
    for name, value, low in (("lr", lr, 0.0), ("weight_decay", weight_decay, None)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or (value <= low if low is not None else value < 0)
        ):
            expected = "a positive number" if low is not None else "a number >= 0"
            raise ValueError(f"{name} must be {expected}, got {value!r}")
    if mode not in (None, "min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or None (chosen from the monitor's name), got {mode!r}")
    if max_seconds is not None and (
        isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) or max_seconds <= 0
    ):
        raise ValueError(f"max_seconds must be a positive number of seconds or None, got {max_seconds!r}")
    if checkpoint is not None and not isinstance(checkpoint, (str, Path)):
        raise TypeError(f"checkpoint must be a file path (str or Path) or None, got {type(checkpoint).__name__}")


def _check_callbacks(callbacks: Any) -> list[Callback]:
    """``callbacks`` as a list, or a TypeError that names the argument and says what is wrong."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        raise TypeError(
            f"callbacks must be a list of Callback objects, got a single {type(callbacks).__name__}; "
            "wrap it in a list: callbacks=[...]"
        )
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of cvlearn.train.Callback objects, got {type(callbacks).__name__}")
    for i, callback in enumerate(callbacks):
        if isinstance(callback, type) and issubclass(callback, Callback):
            raise TypeError(
                f"callbacks[{i}] is the class {callback.__name__}, not an object of it; "
                f"call it: {callback.__name__}(...)"
            )
        if not isinstance(callback, Callback):
            raise TypeError(
                f"callbacks[{i}] must be a cvlearn.train.Callback (subclass it and override "
                f"on_step_end or on_epoch_end), got {type(callback).__name__}"
            )
    return list(callbacks)


def _check_monitor(monitor: str, val_loader: Any, loss_fn: Any, metrics: Mapping[str, Any], evaluate: Any) -> None:
    """Refuse, before any training, a ``monitor`` that ``fit`` would never record.

    A model that returns its own losses (``loss_fn=None``, torchvision's detection models)
    returns them only in train mode, so ``fit`` has no validation loss for it: scores on held-out
    data come from ``evaluate``.
    """
    if val_loader is not None and loss_fn is None:
        raise ValueError(
            "val_loader needs loss_fn: a model that returns its own losses (loss_fn=None) returns "
            "them only in train mode, so fit cannot compute a validation loss with it. Score "
            "held-out data with evaluate=fn(model) -> {name: value} and monitor='val_<name>' instead"
        )
    recorded = {"train_loss", "lr", "seconds", *(f"train_{name}" for name in metrics)}
    if val_loader is not None:
        recorded |= {"val_loss", *(f"val_{name}" for name in metrics)}
    if monitor in recorded or (evaluate is not None and monitor.startswith("val_")):
        return
    also = " or val_<a key evaluate returns>" if evaluate is not None else ""
    raise ValueError(f"monitor must be a value fit records: one of {sorted(recorded)}{also}; got {monitor!r}")


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    *,
    epochs: int = 5,
    loss_fn: Callable | None = None,
    metrics: dict[str, Metric] | None = None,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    optimizer: str | torch.optim.Optimizer = "adamw",
    schedule: str | None = "onecycle",
    device: str | torch.device | None = None,
    seed: int | None = 0,
    checkpoint: str | Path | None = None,
    monitor: str | None = None,
    mode: str | None = None,
    restore_best: bool = True,
    max_seconds: float | None = None,
    callbacks: Sequence[Callback] | None = None,
    progress: bool = True,
    live_plot: bool = False,
    channels_last: bool = False,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; validate after each.

    Args:
        model: any ``nn.Module``; see the module docstring for the two kinds.
        train_loader, val_loader: iterables of ``(inputs, targets)`` batches.
        loss_fn: ``loss_fn(outputs, targets) -> scalar``; ``None`` if the model returns losses. A
            loss that is an ``nn.Module`` moves to the device with the model.
        metrics: ``{name: fn(outputs, targets) -> number}``, averaged over each epoch (weighted by
            batch size) on the training batches and on ``val_loader``.
        evaluate: ``evaluate(model) -> {name: value}``, called after each epoch in eval mode
            (for scores that need the whole split, such as mAP); keys are prefixed ``val_``.
        lr, weight_decay, optimizer, schedule: AdamW (or SGD) with a one-cycle schedule whose
            peak learning rate is ``lr``. An ``optimizer`` built beforehand (``torch.optim.AdamW``
            over parameter groups, say, a pretrained backbone's with a lower learning rate) is
            used as it is; the schedule then peaks at each group's own ``lr``.
        device: ``None`` or ``"auto"`` picks CUDA, then MPS, then the CPU.
        seed: seeds Python, NumPy and torch before building anything random (None: don't).
        checkpoint: file that keeps the best weights (by ``monitor``), written atomically.
        monitor, mode: the value that decides "best", default ``val_loss`` (min), or
            ``train_loss`` without validation.
        restore_best: load the best weights back into ``model`` at the end.
        max_seconds: stop early once training (not validation or ``evaluate``) has taken this
            long; the same as putting ``TimeBudget(max_seconds)`` first in ``callbacks``.
        callbacks: :class:`Callback` objects. After every training step ``fit`` calls each one's
            ``on_step_end(state)``, and after every epoch (validated, scored by ``evaluate``,
            checkpointed and recorded) each one's ``on_epoch_end(state)``, in list order; see
            :class:`TrainingState` for what ``state`` holds. A hook that calls
            ``state.request_stop(reason)`` ends training: from ``on_step_end``, after that step
            (its epoch is then validated, checkpointed and reported to ``on_epoch_end`` as
            usual); from ``on_epoch_end``, after that epoch. ``history.stop_reason`` keeps the
            reason.
        progress: show a progress bar; live_plot: redraw the curves after every epoch (Jupyter).
        channels_last: store the model's weights as (N, H, W, C) in memory, which makes
            convolutions faster on CPUs and recent GPUs; the batches are left as they come (the
            first convolution's output is channels-last from then on).

    Returns:
        The :class:`History` of the run.
    """
    _check_fit_arguments(
        model,
        train_loader,
        val_loader,
        epochs,
        loss_fn,
        metrics,
        evaluate,
        lr,
        weight_decay,
        mode,
        max_seconds,
        checkpoint,
    )
    callbacks = _check_callbacks(callbacks)
    if max_seconds:
        callbacks = [TimeBudget(max_seconds), *callbacks]
    if seed is not None:
        seed_everything(seed)
    device = pick_device(device)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if isinstance(loss_fn, nn.Module):
        loss_fn.to(device)  # a weighted loss (CrossEntropyLoss(weight=...)) keeps its weights by the outputs
    metrics = dict(metrics or {})
    monitor = monitor or ("val_loss" if val_loader is not None else "train_loss")
    _check_monitor(monitor, val_loader, loss_fn, metrics, evaluate)
    mode = mode or ("min" if monitor.endswith("loss") else "max")
    history = History(
        monitor=monitor, mode=mode, device=str(device), checkpoint=str(checkpoint) if checkpoint is not None else None
    )
    opt = _make_optimizer(model, optimizer, lr, weight_decay)
    steps_per_epoch = len(train_loader) if isinstance(train_loader, Sized) else 0
    if schedule is not None and not steps_per_epoch:
        raise ValueError(
            f"schedule={schedule!r} needs to know the number of steps, but train_loader has no len(); "
            "use a DataLoader or schedule=None"
        )
    scheduler = _make_scheduler(opt, schedule, epochs * steps_per_epoch)
    state = TrainingState(model=model, optimizer=opt, history=history, epochs=epochs)
    best_value, best_state = None, None
    bar = tqdm(total=epochs * steps_per_epoch or None, desc="training", unit="step", disable=not progress)
    try:
        for epoch in range(1, epochs + 1):
            state.epoch = epoch
            record = _train_and_validate(
                model,
                train_loader,
                val_loader,
                device,
                loss_fn,
                metrics,
                evaluate,
                opt,
                scheduler,
                bar,
                state,
                callbacks,
            )
            record = {"epoch": epoch, **record}
            history.epochs.append(record)
            bar.set_postfix(
                {k: f"{v:.3f}" for k, v in record.items() if k.startswith("val_")}
                or {"loss": f"{record['train_loss']:.3f}"}
            )
            if monitor not in record:
                raise ValueError(f"monitor={monitor!r} is not among the values fit records: {sorted(record)}")
            value = record[monitor]
            if best_value is None or (value < best_value if mode == "min" else value > best_value):
                best_value = value
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if checkpoint is not None:
                    save_checkpoint(model, checkpoint, epoch=epoch, monitor=monitor, **{monitor: float(value)})
            if live_plot:
                _redraw(history)
            for callback in callbacks:
                callback.on_epoch_end(state)
            if state.stopping:
                break
    finally:
        bar.close()
    history.stop_reason = state.stop_reason
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def _train_and_validate(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None,
    device: torch.device,
    loss_fn: Callable | None,
    metrics: dict[str, Metric],
    evaluate: Callable | None,
    opt: torch.optim.Optimizer,
    scheduler: Any,
    bar: Any,
    state: TrainingState,
    callbacks: list[Callback],
) -> dict[str, float]:
    """One epoch: train, then score on ``val_loader`` and ``evaluate``. Returns its record."""
    seconds_before = state.seconds
    model.train()
    train_means = _train_epoch(model, train_loader, device, loss_fn, metrics, opt, scheduler, bar, state, callbacks)
    record = {
        **{f"train_{k}": v for k, v in train_means.items()},
        "lr": opt.param_groups[0]["lr"],
        "seconds": state.seconds - seconds_before,
    }
    model.eval()
    if val_loader is not None and loss_fn is not None:
        record.update({f"val_{k}": v for k, v in _validate(model, val_loader, device, loss_fn, metrics).items()})
    if evaluate is not None:
        with torch.no_grad():
            record.update({f"val_{k}": float(v) for k, v in evaluate(model).items()})
    return record


_live_handle: Any = None


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where ``display`` draws figures), False in plain Python."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _redraw(history: History) -> None:
    """Update one figure of the curves in place (in Jupyter), instead of printing a new one per epoch."""
    global _live_handle
    if not _in_notebook():
        return
    import matplotlib.pyplot as plt
    from IPython.display import display

    from .plot import plot_history

    fig = plot_history(history)
    if _live_handle is None or len(history.epochs) == 1:
        _live_handle = display(fig, display_id=True)
    else:
        _live_handle.update(fig)
    plt.close(fig)
