"""``cvlearn.doctor()`` (this module's :func:`doctor`): check the set-up, one line per check,
with a fix for each failure.

It reads the data folder and the dataset registry, and asks :mod:`cvlearn.system` which device
training will use (the choice ``cvlearn.train.pick_device`` makes by default).
"""

from __future__ import annotations

import importlib
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import system
from .system import network_reachable  # noqa: F401  (its old home: ``cvlearn.checkup.network_reachable``)

SYMBOLS = {"ok": "✓", "warn": "!", "fail": "✗"}
ASCII_SYMBOLS = {"ok": "ok", "warn": "!", "fail": "x"}
"""The marks for a console that cannot print ✓ and ✗ (a Windows console in cp1252, or ASCII)."""
NETWORK_HOST = ("download.pytorch.org", 443)


@dataclass
class Check:
    """The result of one check: ``status`` is "ok", "warn" or "fail"; ``fix`` says what to do."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        return self.line()

    def line(self, symbols: dict[str, str] = SYMBOLS) -> str:
        """The check as printed: its mark from ``symbols``, name, detail and, on failure, the fix."""
        width = max(len(mark) for mark in symbols.values())
        line = f"{symbols[self.status]:<{width}} {self.name:<12} {self.detail}"
        return line + (f"\n    fix: {self.fix}" if self.fix else "")


def symbols_for(stream: IO[str]) -> dict[str, str]:
    """:data:`SYMBOLS` if ``stream``'s encoding can write ✓ and ✗, else :data:`ASCII_SYMBOLS`."""
    try:
        "".join(SYMBOLS.values()).encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_SYMBOLS
    return SYMBOLS


def check_python() -> Check:
    version = platform.python_version()
    if sys.version_info < (3, 10):  # noqa: UP036 -- doctor names an old Python instead of failing on it
        return Check("python", "fail", version, "install Python 3.10 or newer (3.11 is what the course is tested on)")
    return Check("python", "ok", version)


def check_torch() -> Check:
    try:
        import torch
    except ImportError as err:
        return Check("torch", "fail", f"not importable ({err})", "run `make lab` or `pip install -e .`")
    return Check("torch", "ok", f"{torch.__version__}, {torch.get_num_threads()} CPU threads")


def check_torchvision() -> Check:
    try:
        import torch
        import torchvision
        from torchvision.ops import nms

        nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
    except Exception as err:  # an ABI mismatch shows up here as a RuntimeError
        return Check(
            "torchvision",
            "fail",
            f"broken ({type(err).__name__}: {err})",
            "install a matching pair, e.g. `pip install torch==2.14.1 torchvision==0.29.1`",
        )
    return Check("torchvision", "ok", f"{torchvision.__version__}, detection ops work")


def check_packages() -> Check:
    missing = []
    for module in ("matplotlib", "ipywidgets", "pycocotools", "skimage", "tqdm", "PIL"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        return Check("packages", "fail", f"missing: {', '.join(missing)}", "run `make lab` or `pip install -e .`")
    import ipywidgets

    if int(ipywidgets.__version__.split(".")[0]) < 8:
        return Check("packages", "fail", f"ipywidgets {ipywidgets.__version__}", "pip install 'ipywidgets>=8'")
    return Check("packages", "ok", "matplotlib, ipywidgets, pycocotools, scikit-image, tqdm, pillow")


def check_device() -> Check:
    device = system.accelerator()
    if device == "cpu":
        return Check("device", "ok", "CPU (every notebook is sized for a laptop CPU; a GPU is optional)")
    return Check("device", "ok", f"{device.upper()} found; training will use it")


def check_data_folder(root: str | Path | None = None) -> Check:
    """Which folder the datasets are cached in, why that one, and whether a file can be written there.

    Paths are shown relative to the course folder or to ``~`` (:func:`cvlearn.data.display_path`).
    """
    from .data.cache import DATA_ENV, data_folder, display_path

    if root is None:
        chosen = data_folder()
        root, why = chosen.path, chosen.reason
        if chosen.read_only and chosen.course is not None:
            why += f"; datasets already in {display_path(chosen.course / 'datasets')} are still read"
    else:
        root, why = Path(root), "given as root"
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root):
            pass
    except OSError as err:
        return Check(
            "data folder",
            "fail",
            f"{display_path(root)} is not writable ({err.strerror}; {why})",
            f"set {DATA_ENV} to a folder you can write to, or make {display_path(root)} writable",
        )
    return Check("data folder", "ok", f"{display_path(root)} ({why}), writable")


def check_network(timeout: float = 1.0) -> Check:
    if system.network_reachable(NETWORK_HOST, timeout=timeout):
        return Check("network", "ok", f"{NETWORK_HOST[0]} reachable: real datasets and pretrained weights can download")
    return Check(
        "network",
        "warn",
        "offline: the toy world works fully; real photos and pretrained weights are skipped",
        "nothing to do for the course; for real data see README, 'Switching to real data'",
    )


def check_datasets(root: str | Path | None = None) -> Check:
    """Which registered datasets are ready: the toy ones always are (drawn on first use); a real
    one when its files are complete on disk (a file check, no network)."""
    from .data import download, registry

    toy, real = registry.names("toy"), registry.names("real")
    here = [name for name in real if download.is_complete(name, root)]
    detail = f"toy: {', '.join(toy)} (drawn on first use); real on disk: {', '.join(here) or 'none'}"
    missing = [name for name in real if name not in here]
    if missing:
        detail += f" ({', '.join(missing)}: `cvlearn data download NAME`, optional)"
    return Check("datasets", "ok", detail)


def run_checks(root: str | Path | None = None, network: bool = True) -> list[Check]:
    """All checks, in order: python, torch, torchvision, packages, device, data folder, datasets, network."""
    checks = [
        check_python(),
        check_torch(),
        check_torchvision(),
        check_packages(),
        check_device(),
        check_data_folder(root),
        check_datasets(root),
    ]
    if network:
        checks.append(check_network())
    return checks


def doctor(root: str | Path | None = None, network: bool = True) -> list[Check]:
    """Print one line per check (✓ ok, ! warning, ✗ failure with its fix) and return the checks."""
    checks = run_checks(root, network)
    symbols = symbols_for(sys.stdout)
    for check in checks:
        print(check.line(symbols))
    failed = [c.name for c in checks if c.status == "fail"]
    print(
        "all set: the course runs on this machine" if not failed else f"{len(failed)} problem(s): {', '.join(failed)}"
    )
    return checks
