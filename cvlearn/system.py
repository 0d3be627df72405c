"""Facts about the running machine that work the same on Linux, macOS and Windows.

The standard library's ``resource`` module, the usual way to read peak memory, exists only on
POSIX systems; importing it at the top of a module breaks that module on Windows. Everything
here asks ``resource`` only where it exists and falls back to psutil (installed with Jupyter).

Whether a server can be reached is a fact about the machine too: the dataset downloader, the
pretrained weights and ``cvlearn doctor`` all ask :func:`network_reachable` (tests replace it
here to play offline).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import psutil

__all__ = ["accelerator", "network_reachable", "peak_memory_mb", "run_watching_memory", "url_server"]

_MIB = 2**20


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    POSIX keeps the high-water mark in ``getrusage`` (KiB on Linux, bytes on macOS); Windows keeps
    it as the peak working set, which psutil reads. Where neither is known, the current resident
    size is the best lower bound there is.
    """
    try:
        import resource
    except ImportError:
        info = psutil.Process().memory_info()
        return getattr(info, "peak_wset", info.rss) / _MIB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MIB if sys.platform == "darwin" else peak / 1024


def _tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (those still alive)."""
    total = 0
    for p in (process, *process.children(recursive=True)):
        with contextlib.suppress(psutil.Error):  # it ended between listing and reading
            total += p.memory_info().rss
    return total


def run_watching_memory(args: Sequence[str], interval: float = 0.2, **popen: Any) -> tuple[int, str, float]:
    """Run a command to its end, sampling the memory of its whole process tree.

    Returns ``(exit code, stdout and stderr together, peak MiB of the tree)``. Sampling every
    ``interval`` seconds can miss a spike shorter than that; a notebook's peak (a model and a
    dataset held for minutes) is not such a spike.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(list(args), stdout=log, stderr=subprocess.STDOUT, text=True, **popen)
        watched, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _tree_rss(watched))
            time.sleep(interval)
        log.seek(0)
        return proc.returncode, log.read(), peak / _MIB


def accelerator() -> str:
    """The best device torch can train on here: ``"cuda"``, else ``"mps"`` (Apple), else ``"cpu"``."""
    import torch  # here, not at the top: this module is imported where torch is not yet needed

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def url_server(url: str) -> tuple[str, int]:
    """The (host, port) a URL connects to, for :func:`network_reachable`."""
    parts = urlparse(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def network_reachable(host: tuple[str, int], timeout: float = 1.0) -> bool:
    """Whether a TCP connection to ``host`` (name, port) opens within ``timeout`` seconds, DNS included.

    The connection is tried in a daemon thread, so a resolver that hangs past ``timeout`` cannot
    hold the caller up.
    """
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection(host, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])
