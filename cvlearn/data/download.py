"""Fetching the real datasets, only when asked: checked, resumable, and never half unpacked.

``cvlearn data download NAME`` (or ``cvlearn.data.load(NAME, download=True)``) fetches the
archives of a real dataset into ``datasets/NAME/`` with a progress bar, checks each against the
checksum in its spec's :class:`Source` (see :mod:`cvlearn.data.real`), and unpacks them:

* an interrupted download leaves ``FILE.part``; the next run resumes it (HTTP ``Range``), or
  starts it again when the server will not resume, or when the resumed file fails its check;
* a file whose checksum does not match is deleted and reported (:class:`ChecksumError`);
* archives unpack into a hidden temporary folder (``datasets/NAME/.unpacking-*``) that is
  renamed into place only once complete, so a folder under its real name is always whole;
  leftovers of an interrupted unpack are removed on the next run;
* an archive that cannot be read is deleted and reported (:class:`CorruptArchiveError`).

Archives put in ``datasets/NAME/`` by hand are checked and unpacked the same way, offline.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tqdm.auto import tqdm

from .. import system
from .cache import readable_roots, sha256
from .registry import View, real_spec

__all__ = [
    "SOURCES",
    "Archive",
    "ChecksumError",
    "CorruptArchiveError",
    "DataMissingError",
    "DownloadError",
    "RealDataError",
    "Source",
    "fetch",
    "folder",
    "is_complete",
    "missing_message",
    "missing_paths",
    "source",
    "url_server",
]

CHUNK = 1 << 20
TIMEOUT = 30.0
"""Seconds a stalled connection may stay silent before the download gives up (it resumes later)."""


class RealDataError(Exception):
    """Base of every error about a real dataset; its message is one paragraph that says what to do."""


class DataMissingError(RealDataError, FileNotFoundError):
    """A real dataset is not on disk (and no download was asked for)."""


class DownloadError(RealDataError, ConnectionError):
    """The server cannot be reached, or refused the file."""


class ChecksumError(RealDataError, ValueError):
    """A downloaded or hand-placed archive is not the file the registry knows."""


class CorruptArchiveError(RealDataError, ValueError):
    """An archive cannot be unpacked."""


@dataclass(frozen=True)
class Archive:
    """One file to fetch: where from (mirrors in order), how big, and its checksum.

    ``sha256`` is checked when known; where no published sha256 was found, ``md5`` is checked
    instead and the file's sha256 is printed so it can be added here.
    """

    file_name: str
    urls: tuple[str, ...]
    size: int | None
    sha256: str | None
    md5: str | None = None


@dataclass(frozen=True)
class Source:
    """Where a real dataset comes from, and what a complete copy looks like under ``datasets/NAME/``.

    title, homepage, licence: named in messages; toy: the toy dataset that teaches the same ideas.
    archives: the files to fetch, in the order they are unpacked.
    folder: the folder the archives produce, renamed into ``datasets/NAME/`` when complete.
    unpack_into: where inside the temporary folder the archives unpack ("" for its top; the
        pet archives hold ``images/`` and ``annotations/`` without a common parent).
    required: paths under ``datasets/NAME/`` that every complete copy has.
    """

    title: str
    homepage: str
    archives: tuple[Archive, ...]
    folder: str
    unpack_into: str
    required: tuple[str, ...]
    licence: str
    toy: str

    @property
    def size_mb(self) -> float:
        """Download size in MB (10^6 bytes)."""
        return sum(a.size or _APPROXIMATE_SIZES[a.file_name] for a in self.archives) / 1e6

    @property
    def size(self) -> str:
        mb = self.size_mb
        return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb:.0f} MB"


# Where no exact size is published, the approximate one is used for messages only.
_APPROXIMATE_SIZES = {"PennFudanPed.zip": 53_700_000}

SOURCES = View("real", lambda spec: spec.source)
"""Every real dataset's :class:`Source`, by name: a live view of the registry."""

url_server = system.url_server


def source(name: Any) -> Source:
    """The :class:`Source` of a real dataset, or a ValueError that lists the names there are."""
    return real_spec(name).source


def folder(name: str, root: str | Path | None = None) -> Path:
    """``datasets/NAME/``: where a real dataset's archives and files live.

    Without ``root``, the first folder of :func:`cvlearn.data.cache.readable_roots` that holds a
    complete copy (a read-only course folder may hold one), else the data folder, where a
    download goes.
    """
    if root is not None:
        return Path(root) / name
    candidates = [base / name for base in readable_roots()]
    required = SOURCES[name].required if name in SOURCES else ()
    complete = [c for c in candidates if all((c / p).exists() for p in required)]
    return (complete or candidates)[0]


def missing_paths(name: str, root: str | Path | None = None) -> list[str]:
    """The required paths of a real dataset that are not on disk (empty when it is complete)."""
    base = folder(name, root)
    return [p for p in source(name).required if not (base / p).exists()]


def is_complete(name: str, root: str | Path | None = None) -> bool:
    """Whether every required path of a real dataset exists (a file check, no network)."""
    return not missing_paths(name, root)


def missing_message(name: str, root: str | Path | None = None) -> str:
    """One paragraph: what is missing, its size, where to put it by hand and the command that fetches it."""
    src, base = source(name), folder(name, root)
    lacking = missing_paths(name, root)
    where = f"nothing of it is in {base}" if len(lacking) == len(src.required) else f"{base} lacks {', '.join(lacking)}"
    files = " and ".join(a.file_name for a in src.archives)
    them = "them" if len(src.archives) > 1 else "it"
    return (
        f"{src.title} ({name}, {src.size} to download) is not on this machine: {where}. Fetch it with "
        f"`cvlearn data download {name}` (or `cvlearn.data.load({name!r}, download=True)`), or download "
        f"{files} from {src.homepage} by hand, put {them} in {base}/ and run that command, which checks "
        f"and unpacks {them} offline. Without it, {src.toy} teaches the same ideas on the toy world."
    )


# --------------------------------------------------------------------------------------------
# Checking files
# --------------------------------------------------------------------------------------------


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_archive(path: Path, archive: Archive) -> str | None:
    """None if ``path`` is the file ``archive`` describes, else what differs (size, sha256 or md5)."""
    size = path.stat().st_size
    if archive.size is not None and size != archive.size:
        return f"its size is {size:,} bytes, expected {archive.size:,}"
    if archive.sha256 is not None:
        digest = sha256(path)
        return None if digest == archive.sha256 else f"its sha256 is {digest}, expected {archive.sha256}"
    if archive.md5 is not None:
        digest = _md5(path)
        if digest != archive.md5:
            return f"its md5 is {digest}, expected {archive.md5}"
        print(f"{archive.file_name}: md5 matches; its sha256, for its spec in cvlearn/data/real.py, is {sha256(path)}")
    return None


def verify_or_delete(path: Path, archive: Archive, name: str) -> None:
    """Raise :class:`ChecksumError` (after deleting the file) unless ``path`` matches ``archive``."""
    problem = check_archive(path, archive)
    if problem is not None:
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"{path.name} of {name} is not the expected file: {problem}. It was deleted; run "
            f"`cvlearn data download {name}` to fetch it again (if this repeats, the server's copy has "
            f"changed: please report it)."
        )


# --------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------

Opener = Callable[..., Any]


def _reachable(url: str) -> bool:
    return urlparse(url).scheme == "file" or system.network_reachable(system.url_server(url))


def download_file(
    url: str, part: Path, size: int | None = None, progress: bool = True, opener: Opener = urllib.request.urlopen
) -> None:
    """Download ``url`` into ``part``, resuming what an earlier, interrupted run left there.

    A resumed request asks for ``Range: bytes=N-``; a server that answers with the whole file
    (status 200, not 206) is read from the start again. ``size`` (bytes), when known, sizes the
    progress bar and restarts a ``part`` that grew too big.
    """
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        offset = 0
    if size is not None and offset == size:
        return
    headers = {"User-Agent": "cvlearn-course-datasets"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = opener(urllib.request.Request(url, headers=headers), timeout=TIMEOUT)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left to send: the part is already whole
            return
        raise
    with response:
        if offset and getattr(response, "status", None) != 206:
            offset = 0
        length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
        total = offset + int(length) if length else size
        with (
            open(part, "ab" if offset else "wb") as f,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            while chunk := response.read(CHUNK):
                f.write(chunk)
                bar.update(len(chunk))


def fetch_archive(
    archive: Archive,
    name: str,
    root: str | Path | None = None,
    progress: bool = True,
    opener: Opener = urllib.request.urlopen,
) -> Path:
    """A checked copy of ``archive`` in ``datasets/NAME/``: kept if already there, else downloaded.

    Mirrors are tried in order. A resumed download that fails its check is fetched once more
    from the start before :class:`ChecksumError` is raised.
    """
    base = folder(name, root)
    base.mkdir(parents=True, exist_ok=True)
    path, part = base / archive.file_name, base / f"{archive.file_name}.part"
    if path.exists():
        verify_or_delete(path, archive, name)
        return path
    reachable = [url for url in archive.urls if _reachable(url)]
    if not reachable:
        hosts = ", ".join(sorted({system.url_server(u)[0] for u in archive.urls}))
        src = source(name)
        raise DownloadError(
            f"cannot download {archive.file_name} of {name} ({src.size} in all): {hosts} cannot be "
            f"reached (offline?). On a machine with a network, download it from {src.homepage}, "
            f"put it in {base}/ and run `cvlearn data download {name}` again: it checks and "
            f"unpacks archives found there without a network. Meanwhile {src.toy} teaches the "
            f"same ideas on the toy world."
        )
    errors = []
    for url in reachable:
        for attempt in range(2):
            resumed = part.exists() and part.stat().st_size > 0
            try:
                download_file(url, part, archive.size, progress, opener)
            except OSError as err:  # URLError and HTTPError included: try the next mirror
                errors.append(f"{url}: {getattr(err, 'reason', err)}")
                break
            part.replace(path)
            try:
                verify_or_delete(path, archive, name)
            except ChecksumError:
                if resumed and attempt == 0:
                    print(f"{archive.file_name}: the resumed download failed its check; downloading it again")
                    continue
                raise
            return path
    raise DownloadError(
        f"cannot download {archive.file_name} of {name} ({'; '.join(errors)}); what arrived is "
        f"kept in {part} and the next `cvlearn data download {name}` resumes it."
    )


# --------------------------------------------------------------------------------------------
# Unpacking
# --------------------------------------------------------------------------------------------


def _extract_tar(path: Path, into: Path, progress: bool) -> None:
    safe: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(path) as tar:
        for member in tqdm(tar, desc=f"unpacking {path.name}", unit=" files", disable=not progress, leave=False):
            if member.name.startswith(("/", "\\")) or ".." in Path(member.name).parts:
                raise tarfile.TarError(f"unsafe path {member.name!r} in the archive")
            tar.extract(member, into, **safe)


def _extract_zip(path: Path, into: Path, progress: bool) -> None:
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
        if bad is not None:
            raise zipfile.BadZipFile(f"{bad} fails its CRC check")
        for member in tqdm(
            archive.infolist(), desc=f"unpacking {path.name}", unit=" files", disable=not progress, leave=False
        ):
            archive.extract(member, into)


def unpack(path: Path, into: Path, name: str, progress: bool = True) -> None:
    """Unpack a tar (plain or gzipped) or zip archive into ``into``; a damaged one raises
    :class:`CorruptArchiveError` and is deleted, so the next run fetches it again."""
    try:
        if zipfile.is_zipfile(path):
            _extract_zip(path, into, progress)
        else:
            _extract_tar(path, into, progress)
    except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error) as err:
        path.unlink(missing_ok=True)
        raise CorruptArchiveError(
            f"{path.name} of {name} cannot be unpacked ({type(err).__name__}: {err}). "
            f"It was deleted; run `cvlearn data download {name}` to fetch it again."
        ) from None


def _remove_leftovers(base: Path) -> None:
    for leftover in base.glob(".unpacking-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def install(name: str, archives: list[Path], root: str | Path | None = None, progress: bool = True) -> Path:
    """Unpack checked archives into a temporary folder, then rename the complete folder into place."""
    src, base = source(name), folder(name, root)
    _remove_leftovers(base)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=".unpacking-"))
    try:
        for path in archives:
            unpack(path, staging / src.unpack_into, name, progress)
        lacking = [p for p in src.required if not (staging / p).exists()]
        if lacking:
            raise CorruptArchiveError(
                f"the archives of {name} unpacked without {', '.join(lacking)}; delete "
                f"{base} and run `cvlearn data download {name}` again."
            )
        target = base / src.folder
        if target.exists():  # an incomplete copy (complete ones never reach here): keep it aside
            aside = Path(tempfile.mkdtemp(dir=base, prefix=f"{src.folder}.incomplete-"))
            target.replace(aside / src.folder)
            print(f"moved the incomplete {target} aside to {aside}")
        (staging / src.folder).replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def fetch(
    name: str,
    root: str | Path | None = None,
    progress: bool = True,
    keep_archives: bool = False,
    opener: Opener = urllib.request.urlopen,
) -> Path:
    """Make a real dataset complete on disk: download (or find), check and unpack its archives.

    Args:
        name: a registered real dataset (``"oxford-pets"``, ``"penn-fudan"``, ``"voc2012"``).
        root: the datasets folder (default :func:`cvlearn.data.default_root`).
        progress: show progress bars.
        keep_archives: keep the archives after unpacking (by default they are deleted to save space).
        opener: what opens URLs (``urllib.request.urlopen``; tests pass their own).

    Returns:
        ``datasets/NAME/``.
    """
    src, base = source(name), folder(name, root)
    if is_complete(name, root):
        print(f"{name} is complete in {base}")
        return base
    archives = [fetch_archive(a, name, root, progress, opener) for a in src.archives]
    install(name, archives, root, progress)
    if not keep_archives:
        for path in archives:
            path.unlink(missing_ok=True)
    print(f"{name} is ready in {base} (licence: {src.licence}; see {src.homepage})")
    return base
