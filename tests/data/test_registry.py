"""cvlearn.data.registry: one spec per dataset, and everything that lists datasets reads it."""

from dataclasses import replace
from pathlib import Path

import pytest

from cvlearn import checkup, cli, data, toyworld
from cvlearn.data import real, registry, toy

README = Path(__file__).resolve().parents[2] / "datasets" / "README.md"


def sample_tiny(rng, size):
    """toy-fruit's scenes, drawn under this test's own dataset name."""
    scene = toyworld.sample_fruit(rng, size)
    scene.dataset = "toy-tiny"
    return scene


TINY = toyworld.ToySpec(
    name="toy-tiny",
    description="a few apples and oranges, small",
    classes=("apple", "orange"),
    semantic_classes=("background", "table", "apple", "orange"),
    export_format="coco",
    size=32,
    splits={"train": 3, "val": 2, "test": 2},
    sampler=sample_tiny,
)


@pytest.fixture
def tiny():
    """TINY, registered for one test and forgotten after it."""
    registry.register(TINY)
    yield TINY
    registry.unregister(TINY.name)


def test_a_registered_toy_dataset_loads_and_is_listed(tiny, tmp_path, capsys):
    ds = data.load("toy-tiny", "train", root=tmp_path, progress=False)
    image, target = ds[0]
    assert len(ds) == 3 and image.shape == (3, 32, 32) and ds.categories == ("background", "apple", "orange")
    assert set(target["semantic"].unique().tolist()) <= {0, 1, 2, 3}
    assert "toy-tiny" in registry.names("toy") and "toy-tiny" in toy.table()
    with pytest.raises(SystemExit):
        cli.main(["data", "--help"])
    assert "toy-tiny" in capsys.readouterr().out
    assert "toy-tiny" in checkup.check_datasets(tmp_path).detail


def test_a_forgotten_dataset_is_unknown_again(tiny):
    registry.unregister("toy-tiny")
    with pytest.raises(ValueError, match="unknown dataset name 'toy-tiny'"):
        data.load("toy-tiny")


def test_names_are_registered_once(tiny):
    with pytest.raises(ValueError, match="registered already"):
        registry.register(TINY)
    smaller = registry.register(replace(TINY, splits={"train": 1, "val": 1, "test": 1}), replace=True)
    assert registry.get("toy-tiny") is smaller and toyworld.SPECS["toy-tiny"] is smaller
    with pytest.raises(TypeError, match="ToySpec or RealSpec"):
        registry.register("toy-tiny")


def test_every_dataset_has_one_spec_with_its_palette():
    assert registry.names("toy") == sorted(toyworld.SPECS)
    assert registry.names("real") == ["oxford-pets", "penn-fudan", "voc2012"]
    for spec in registry.specs():
        assert spec.categories == ("background", *spec.classes)
        assert spec.palette.shape == (len(spec.semantic_classes), 3) and spec.palette.dtype.name == "uint8"
        assert registry.get(spec.name) is spec


def test_the_kinds_point_at_each_other():
    with pytest.raises(ValueError, match="is a real dataset"):
        registry.toy_spec("voc2012")
    with pytest.raises(ValueError, match="is a toy dataset"):
        registry.real_spec("toy-pets")
    with pytest.raises(TypeError, match="dataset name"):
        registry.get(3)


def test_the_old_registries_are_live_views():
    from cvlearn import download, realdata

    assert sorted(download.SOURCES) == sorted(realdata.SPECS) == sorted(realdata.READERS) == registry.names("real")
    assert download.SOURCES["penn-fudan"] is registry.get("penn-fudan").source
    assert realdata.READERS["voc2012"] is real.VOC2012


def test_old_import_paths_still_work():
    from cvlearn import download
    from cvlearn.checkup import network_reachable
    from cvlearn.realdata import VOID, choose

    assert download.fetch is data.download.fetch and choose is data.choose and VOID == 255
    assert callable(network_reachable) and data.collate_detection([(1, {}), (2, {})]) == ([1, 2], [{}, {}])


def test_the_dataset_tables_are_written_from_the_registry():
    text = README.read_text(encoding="utf-8")
    for made in (toy.table(), real.table()):
        assert made in text, f"datasets/README.md is out of date; its table should read:\n{made}"
