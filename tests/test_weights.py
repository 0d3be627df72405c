"""cvlearn.weights: cache checks, offline behaviour and weights-only loading, on fake caches."""

import pytest
import torch
from torchvision.models import ResNet50_Weights, SqueezeNet1_1_Weights, squeezenet1_1

from cvlearn import system, weights

SMALL = "SqueezeNet1_1_Weights.IMAGENET1K_V1"  # 1.2 M parameters: quick to build in a test


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch cache in a temporary TORCH_HOME, and no network unless a test says so."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(system, "network_reachable", lambda host, timeout: False)
    return tmp_path


def test_cache_file_follows_torch_home(torch_home):
    path = weights.cache_file(SMALL)
    assert path == torch_home / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
    assert weights.cache_file(SqueezeNet1_1_Weights.DEFAULT) == path


def test_cached_file_is_available_without_asking_the_network(torch_home, monkeypatch):
    path = weights.cache_file(SMALL)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"fake weights")
    monkeypatch.setattr(system, "network_reachable", lambda *a, **k: pytest.fail("network was tried"))
    status = weights.available(SMALL)
    assert status and status.cached and not status.downloadable
    assert "in the torch cache" in str(status) and str(path) in str(status)


def test_missing_and_offline_is_false_with_one_clear_line(torch_home, monkeypatch):
    asked = []
    monkeypatch.setattr(system, "network_reachable", lambda host, timeout: asked.append((host, timeout)) or False)
    status = weights.available("MaskRCNN_ResNet50_FPN_V2_Weights.DEFAULT")
    assert not status and not status.cached and not status.downloadable
    assert asked == [(("download.pytorch.org", 443), weights.NETWORK_TIMEOUT)] and weights.NETWORK_TIMEOUT < 1
    line = status.message
    assert "\n" not in line
    for part in (
        "MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1",
        "177 MB",
        "cannot be reached",
        "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth",
        str(torch_home / "hub" / "checkpoints"),
    ):
        assert part in line


def test_missing_but_reachable_is_downloadable(torch_home, monkeypatch):
    monkeypatch.setattr(system, "network_reachable", lambda host, timeout: True)
    status = weights.available(ResNet50_Weights.IMAGENET1K_V1)
    assert status and status.downloadable and "will download" in str(status)


@pytest.mark.parametrize(
    "bad, error", [("ResNet50", ValueError), ("NoSuch_Weights.DEFAULT", ValueError), (3, TypeError)]
)
def test_bad_weight_names_are_clear_errors(bad, error):
    with pytest.raises(error, match="weights must"):
        weights.available(bad)


def test_loader_returns_none_offline_with_one_line(torch_home, capsys):
    assert weights.load_pretrained("maskrcnn_resnet50_fpn_v2", weights="DEFAULT") is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1" in out


def test_loader_checks_the_default_backbone_weights_too(torch_home, capsys):
    assert weights.load_pretrained("fasterrcnn_resnet50_fpn", weights=None, num_classes=3) is None
    assert "ResNet50_Weights.IMAGENET1K_V1" in capsys.readouterr().out


def test_loader_builds_from_a_cached_file(torch_home):
    reference = squeezenet1_1(weights=None)
    path = weights.cache_file(SMALL)
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model = weights.load_pretrained("squeezenet1_1", weights="DEFAULT")
    assert model is not None
    for name, tensor in reference.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name


_unpickled = []


def _run_on_load():
    _unpickled.append("code ran")
    return {}


class _Payload:
    def __reduce__(self):
        return (_run_on_load, ())


def test_loader_loads_weights_only(torch_home, capsys):
    path = weights.cache_file(SMALL)
    path.parent.mkdir(parents=True)
    torch.save({"payload": _Payload()}, path)
    assert weights.load_pretrained("squeezenet1_1", weights="DEFAULT") is None
    assert _unpickled == [], "a weights file must not run code"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "could not load" in out and str(path) in out


def test_loader_rejects_wrong_arguments(torch_home):
    with pytest.raises(ValueError, match="model must be"):
        weights.load_pretrained("not_a_model")
    with pytest.raises(ValueError, match="not a member"):
        weights.load_pretrained("squeezenet1_1", weights="NOPE")


# --------------------------------------------------------------------------------------------
# The course's own weights
# --------------------------------------------------------------------------------------------

COURSE = "course-backbone"


def _tiny_classifier():
    from cvlearn.models import BackboneClassifier

    return BackboneClassifier(3, widths=(4, 4, 8, 8))


def _cache_tiny(root):
    model = _tiny_classifier()
    manifest = {"build": {"num_classes": 3, "widths": [4, 4, 8, 8]}, "train_s": 1.0, "summary": "3 classes"}
    return model, weights.save_course_weights(COURSE, model.state_dict(), manifest, root=root)


def test_course_weights_are_cached_beside_a_manifest_with_their_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    assert not weights.available(COURSE)
    model, folder = _cache_tiny(tmp_path)
    assert folder == tmp_path / "weights" / COURSE
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "weights.pt"]  # no temporary file left
    status = weights.available(COURSE)
    assert status and status.cached and "✓" in str(status) and "weights/course-backbone" in str(status)
    from cvlearn.models import BackboneClassifier

    loaded = weights.load_pretrained(BackboneClassifier, weights=COURSE)
    assert isinstance(loaded, BackboneClassifier) and loaded.widths == (4, 4, 8, 8)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_missing_course_weights_give_none_and_one_line_saying_how_to_make_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    from cvlearn.models import BackboneClassifier

    assert weights.load_pretrained(BackboneClassifier, weights=COURSE) is None
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "not made yet" in line and "cvlearn.recipes.pretrain.backbone()" in line


def test_damaged_course_weights_are_refused_by_their_checksum(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    _, folder = _cache_tiny(tmp_path)
    (folder / "weights.pt").write_bytes((folder / "weights.pt").read_bytes()[:-10])
    status = weights.available(COURSE)
    assert not status and "does not match its manifest's sha256" in str(status)
    assert weights.load_course_weights(COURSE) is None
    assert "cannot be used" in capsys.readouterr().out


def test_course_weights_load_with_weights_only(tmp_path, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(tmp_path))
    _cache_tiny(tmp_path)
    seen = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: seen.append(k.get("weights_only")) or real_load(*a, **k))
    assert weights.load_course_weights(COURSE) is not None and seen == [True]


def test_unknown_course_weights_name_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="name must be one of the course's weights"):
        weights.course_weights_folder("course-backbon", tmp_path)
