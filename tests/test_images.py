"""cvlearn.images: the helpers every model family shares."""

import pytest
import torch
from torch import nn

from cvlearn.images import eval_mode
from cvlearn.models.classification import predict_probabilities
from cvlearn.models.segmentation import predict_classes


def _model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Dropout(0.5))


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_restores_the_mode_it_found(training):
    model = _model().train(training)
    with eval_mode(model) as inside:
        assert inside is model and not model.training and not model[1].training
    assert model.training is training and model[1].training is training


def test_eval_mode_restores_training_when_the_block_raises():
    model = _model().train()
    with pytest.raises(RuntimeError, match="boom"), eval_mode(model):
        raise RuntimeError("boom")
    assert model.training


def test_prediction_helpers_leave_a_training_model_training():
    images = torch.rand(3, 3, 8, 8)
    model = _model().train()
    predict_classes(model, images)
    assert model.training
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2)).train()
    predict_probabilities(classifier, images)
    assert classifier.training
