"""cvlearn.images: the helpers every model family shares."""

import pytest
import torch
from torch import nn

from cvlearn.images import as_float_images, collate_detection, eval_mode, predict_in_batches
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


def test_as_float_images_divides_uint8_by_255_and_keeps_floats():
    pictures = torch.tensor([[[0, 51, 255]]], dtype=torch.uint8)
    assert torch.equal(as_float_images(pictures), torch.tensor([[[0.0, 0.2, 1.0]]]))
    floats = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    assert as_float_images(floats) is floats


def test_predict_in_batches_joins_tensors_and_lists_in_order():
    model = _model().train()
    pictures = torch.randint(0, 256, (7, 3, 4, 4), dtype=torch.uint8)
    sizes = []
    joined = predict_in_batches(
        model, pictures, 3, lambda batch: sizes.append(len(batch)) or model(batch), prepare=as_float_images
    )
    with eval_mode(model), torch.no_grad():
        assert torch.allclose(joined, model(pictures.float() / 255), atol=1e-6)
    assert sizes == [3, 3, 1] and model.training
    listed = predict_in_batches(model, pictures, 2, lambda batch: [{"n": torch.tensor(len(batch))}] * len(batch))
    assert [int(d["n"]) for d in listed] == [2, 2, 2, 2, 2, 2, 1]
    with pytest.raises(ValueError, match="batch_size"):
        predict_in_batches(model, pictures, 0)


def test_collate_detection_keeps_images_and_targets_as_lists():
    batch = [(torch.zeros(3, 2, 2), {"boxes": torch.zeros(1, 4)}), (torch.ones(3, 2, 2), {"boxes": torch.zeros(0, 4)})]
    images, targets = collate_detection(batch)
    assert isinstance(images, list) and isinstance(targets, list)
    assert images[1] is batch[1][0] and targets[0] is batch[0][1]
