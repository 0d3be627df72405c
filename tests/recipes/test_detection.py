"""cvlearn.recipes.detection: the two configurations and quick runs."""

import pytest

from cvlearn.models.detection import (
    DetectorSettings,
    TinyDetector,
)
from cvlearn.recipes import RECIPES
from cvlearn.recipes.detection import DETECTOR, FASTER_RCNN


def test_configurations_build_their_models():
    assert isinstance(DETECTOR.settings, DetectorSettings)
    assert isinstance(DETECTOR.build_model(("background", "apple", "orange")), TinyDetector)
    with pytest.raises(ValueError, match="model must be"):
        type(DETECTOR)(model="yolo", settings=None, batch_size=1, epochs=1, lr=1.0).build_model(("b", "a"))


@pytest.mark.parametrize("name", ["detection", "detection_fasterrcnn"])
def test_quick_recipes_report_the_benchmark_metrics(name, data_root, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(data_root))
    result = RECIPES[name](quick=True, progress=False)
    assert result.recipe == name
    assert {"map50", "map"} <= set(result.metrics)
    assert all(0.0 <= result.metrics[k] <= 1.0 for k in ("map50", "map"))
    assert result.train_s > 0 and result.params > 0 and result.train_images > 0
    assert result.config["batch_size"] in (DETECTOR.batch_size, FASTER_RCNN.batch_size)
