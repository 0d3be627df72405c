"""cvlearn.data.download: fetch, check, resume and unpack, against local files (no network here)."""

import email.message
import hashlib
import io
from dataclasses import replace

import pytest

from cvlearn import cli, data, system
from cvlearn.data import download, registry
from tests.fakedata import make_oxford_pets, make_penn_fudan, tar_folder, zip_folder


def _archive(path, url=None, **changes):
    """A registry entry for a local file, with its true size and sha256 unless ``changes`` say otherwise."""
    raw = path.read_bytes()
    entry = download.Archive(path.name, (url or path.as_uri(),), len(raw), hashlib.sha256(raw).hexdigest())
    return replace(entry, **changes)


def _register(monkeypatch, name, *archives):
    """Point the real dataset ``name`` at other archives until the test ends."""
    spec = registry.get(name)
    monkeypatch.setitem(registry.REAL_SPECS, name, replace(spec, source=replace(spec.source, archives=archives)))


@pytest.fixture
def penn_zip(tmp_path):
    """A zip of a fake Penn-Fudan, laid out as the real PennFudanPed.zip."""
    make_penn_fudan(tmp_path / "made")
    return tmp_path / "server" / "PennFudanPed.zip", tmp_path / "made" / "PennFudanPed"


@pytest.fixture
def penn_archive(penn_zip):
    path, folder = penn_zip
    path.parent.mkdir()
    zip_folder(folder, path, "PennFudanPed")
    return path


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(system, "network_reachable", lambda *a, **k: False)


def _leftovers(base):
    return sorted(p.name for p in base.iterdir() if p.name.startswith(".") or p.name.endswith(".part"))


def test_fetch_downloads_checks_and_unpacks(tmp_path, monkeypatch, penn_archive, capsys):
    _register(monkeypatch, "penn-fudan", _archive(penn_archive))
    root = tmp_path / "datasets"
    base = download.fetch("penn-fudan", root=root, progress=True)
    assert base == root / "penn-fudan" and download.is_complete("penn-fudan", root)
    assert sorted(p.name for p in base.iterdir()) == ["PennFudanPed"], "archive deleted, nothing half done"
    assert len(data.load("penn-fudan", "train", root=root)) == 6
    assert "ready" in capsys.readouterr().out
    download.fetch("penn-fudan", root=root)
    assert "complete" in capsys.readouterr().out


def test_two_tar_gz_archives_unpack_into_one_folder(tmp_path, monkeypatch):
    made = make_oxford_pets(tmp_path / "made")
    server = tmp_path / "server"
    server.mkdir()
    pets = tmp_path / "made" / "oxford-iiit-pet"
    tar_folder(pets / "images", server / "images.tar.gz", "images")
    tar_folder(pets / "annotations", server / "annotations.tar.gz", "annotations")
    _register(monkeypatch, "oxford-pets", _archive(server / "images.tar.gz"), _archive(server / "annotations.tar.gz"))
    root = tmp_path / "datasets"
    download.fetch("oxford-pets", root=root, progress=False, keep_archives=True)
    assert sorted(p.name for p in (root / "oxford-pets").iterdir()) == [
        "annotations.tar.gz",
        "images.tar.gz",
        "oxford-iiit-pet",
    ]
    assert len(data.load("oxford-pets", "test", root=root)) == len(made["test"])


def test_checksum_mismatch_is_reported_and_the_file_deleted(tmp_path, monkeypatch, penn_archive):
    _register(monkeypatch, "penn-fudan", _archive(penn_archive, sha256="0" * 64))
    root = tmp_path / "datasets"
    with pytest.raises(download.ChecksumError) as err:
        download.fetch("penn-fudan", root=root, progress=False)
    message = str(err.value)
    assert "PennFudanPed.zip" in message and "sha256" in message and "0" * 64 in message
    assert "cvlearn data download penn-fudan" in message and isinstance(err.value, ValueError)
    assert list((root / "penn-fudan").iterdir()) == [] and not download.is_complete("penn-fudan", root)


def test_wrong_size_is_caught_before_hashing(tmp_path, monkeypatch, penn_archive):
    entry = _archive(penn_archive)
    _register(monkeypatch, "penn-fudan", replace(entry, size=entry.size + 1))
    with pytest.raises(download.ChecksumError, match="size"):
        download.fetch("penn-fudan", root=tmp_path, progress=False)


def test_md5_is_the_fallback_where_no_sha256_is_known(tmp_path, monkeypatch, penn_archive, capsys):
    md5 = hashlib.md5(penn_archive.read_bytes()).hexdigest()
    _register(monkeypatch, "penn-fudan", _archive(penn_archive, sha256=None, size=None, md5=md5))
    download.fetch("penn-fudan", root=tmp_path / "ok", progress=False)
    assert hashlib.sha256(penn_archive.read_bytes()).hexdigest() in capsys.readouterr().out
    _register(monkeypatch, "penn-fudan", _archive(penn_archive, sha256=None, size=None, md5="f" * 32))
    with pytest.raises(download.ChecksumError, match="md5"):
        download.fetch("penn-fudan", root=tmp_path / "bad", progress=False)


def test_corrupt_archive_is_reported_and_leaves_nothing(tmp_path, monkeypatch, penn_zip):
    server, folder = penn_zip
    server.parent.mkdir()
    whole = tar_folder(folder, server.with_name("PennFudanPed.tar.gz"), "PennFudanPed")
    broken = server.with_name("broken.tar.gz")
    broken.write_bytes(whole[: len(whole) // 2])  # a truncated download that the registry vouches for
    _register(monkeypatch, "penn-fudan", _archive(broken))
    root = tmp_path / "datasets"
    with pytest.raises(download.CorruptArchiveError) as err:
        download.fetch("penn-fudan", root=root, progress=False)
    assert "broken.tar.gz" in str(err.value) and "cvlearn data download penn-fudan" in str(err.value)
    assert list((root / "penn-fudan").iterdir()) == [], "no archive, no staging folder, no half dataset"


def test_interrupted_unpack_never_looks_complete(tmp_path, monkeypatch, penn_archive):
    _register(monkeypatch, "penn-fudan", _archive(penn_archive))
    root = tmp_path / "datasets"
    real_unpack = download.unpack

    def unpack_then_crash(path, into, name, progress=True):
        real_unpack(path, into, name, progress)  # everything is out, but not yet renamed into place
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "unpack", unpack_then_crash)
    with pytest.raises(KeyboardInterrupt):
        download.fetch("penn-fudan", root=root, progress=False)
    base = root / "penn-fudan"
    assert not (base / "PennFudanPed").exists() and not download.is_complete("penn-fudan", root)
    assert _leftovers(base) == [] and (base / "PennFudanPed.zip").exists(), "the checked archive is kept"
    with pytest.raises(download.DataMissingError):
        data.load("penn-fudan", root=root)

    # a hard crash (no clean-up at all) leaves a hidden staging folder: the next run removes it
    (base / ".unpacking-crashed" / "PennFudanPed" / "PNGImages").mkdir(parents=True)
    monkeypatch.setattr(download, "unpack", real_unpack)
    download.fetch("penn-fudan", root=root, progress=False)
    assert download.is_complete("penn-fudan", root) and _leftovers(base) == []


class _Response(io.BytesIO):
    """What urlopen returns: a readable body with ``status`` and ``headers``."""

    def __init__(self, body, status):
        super().__init__(body)
        self.status = status
        self.headers = email.message.Message()
        self.headers["Content-Length"] = str(len(body))


class _Server:
    """An opener serving ``body``; honours ``Range`` unless told not to, and records each request."""

    def __init__(self, body, ranges=True):
        self.body, self.ranges, self.requests = body, ranges, []

    def __call__(self, request, timeout):
        assert timeout <= download.TIMEOUT
        wanted = request.get_header("Range")
        self.requests.append(wanted)
        if wanted and self.ranges:
            start = int(wanted.removeprefix("bytes=").removesuffix("-"))
            return _Response(self.body[start:], 206)
        return _Response(self.body, 200)


@pytest.fixture
def online(monkeypatch):
    monkeypatch.setattr(system, "network_reachable", lambda *a, **k: True)


@pytest.mark.parametrize("ranges", [True, False])
def test_an_interrupted_download_resumes_or_restarts(tmp_path, monkeypatch, penn_archive, online, ranges):
    body = penn_archive.read_bytes()
    _register(monkeypatch, "penn-fudan", _archive(penn_archive, url="https://example.org/PennFudanPed.zip"))
    base = tmp_path / "penn-fudan"
    base.mkdir()
    (base / "PennFudanPed.zip.part").write_bytes(body[:1000])  # what a Ctrl-C left behind
    server = _Server(body, ranges=ranges)
    download.fetch("penn-fudan", root=tmp_path, progress=False, opener=server)
    assert server.requests == ["bytes=1000-"] and download.is_complete("penn-fudan", tmp_path)
    assert _leftovers(base) == []


def test_a_resumed_download_that_fails_its_check_starts_again(tmp_path, monkeypatch, penn_archive, online, capsys):
    body = penn_archive.read_bytes()
    _register(monkeypatch, "penn-fudan", _archive(penn_archive, url="https://example.org/PennFudanPed.zip"))
    base = tmp_path / "penn-fudan"
    base.mkdir()
    (base / "PennFudanPed.zip.part").write_bytes(b"x" * 1000)  # garbage from an earlier, different file
    server = _Server(body)
    download.fetch("penn-fudan", root=tmp_path, progress=False, opener=server)
    assert server.requests == ["bytes=1000-", None] and download.is_complete("penn-fudan", tmp_path)
    assert "downloading it again" in capsys.readouterr().out


def test_offline_is_a_quick_clear_error_that_keeps_nothing(tmp_path, offline):
    def never(*args, **kwargs):
        pytest.fail("no request may be made offline")

    with pytest.raises(download.DownloadError) as err:
        download.fetch("voc2012", root=tmp_path, opener=never)
    message = str(err.value)
    for part in (
        "VOCtrainval_11-May-2012.tar",
        "cannot be reached",
        "2.0 GB",
        str(tmp_path / "voc2012"),
        "cvlearn data download voc2012",
        "toy-pasture",
    ):
        assert part in message
    assert isinstance(err.value, ConnectionError)
    with pytest.raises(download.DownloadError):
        data.load("voc2012", root=tmp_path, download=True)


def test_an_archive_put_there_by_hand_is_used_offline(tmp_path, monkeypatch, penn_archive, offline):
    _register(monkeypatch, "penn-fudan", _archive(penn_archive, url="https://example.org/PennFudanPed.zip"))
    (tmp_path / "penn-fudan").mkdir()
    (tmp_path / "penn-fudan" / "PennFudanPed.zip").write_bytes(penn_archive.read_bytes())
    assert len(data.load("penn-fudan", "val", root=tmp_path, download=True)) == 2


def test_the_registry_holds_a_checksum_for_every_archive():
    for src in download.SOURCES.values():
        assert src.toy in registry.names("toy") and src.required and src.size_mb > 0
        for archive in src.archives:
            assert archive.sha256 or archive.md5, archive.file_name
            assert archive.sha256 is None or len(archive.sha256) == 64
            assert all(url.startswith(("https://", "http://")) for url in archive.urls)


def test_cli_download(tmp_path, monkeypatch, penn_archive, capsys):
    _register(monkeypatch, "penn-fudan", _archive(penn_archive))
    assert cli.main(["data", "download", "penn-fudan", "--root", str(tmp_path)]) == 0
    assert download.is_complete("penn-fudan", tmp_path)
    monkeypatch.setattr(system, "network_reachable", lambda *a, **k: False)
    capsys.readouterr()
    assert cli.main(["data", "download", "oxford-pets", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cvlearn: error: cannot download") and err.count("\n") == 1
    assert cli.main(["data", "download", "toy-pets"]) == 2
    assert "cvlearn data build toy-pets" in capsys.readouterr().err


def test_an_incomplete_copy_by_hand_is_moved_aside_not_deleted(tmp_path, monkeypatch, penn_archive, capsys):
    _register(monkeypatch, "penn-fudan", _archive(penn_archive))
    mine = tmp_path / "penn-fudan" / "PennFudanPed" / "PNGImages" / "mine.png"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"a learner's file")
    download.fetch("penn-fudan", root=tmp_path, progress=False)
    assert (
        download.is_complete("penn-fudan", tmp_path)
        and not (tmp_path / "penn-fudan" / "PennFudanPed" / "PNGImages" / "mine.png").exists()
    )
    kept = list((tmp_path / "penn-fudan").glob("PennFudanPed.incomplete-*/PennFudanPed/PNGImages/mine.png"))
    assert len(kept) == 1 and "moved the incomplete" in capsys.readouterr().out
