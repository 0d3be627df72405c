"""One picture's detections with every kind of mistake, shared by the metric, widget and plot tests."""

import torch

CLASSES = ("background", "apple", "orange")
TARGET = {
    "boxes": torch.tensor([[10.0, 10.0, 30.0, 30.0], [50.0, 50.0, 70.0, 70.0], [5.0, 60.0, 20.0, 80.0]]),
    "labels": torch.tensor([1, 2, 1]),
}
CANDIDATES = {
    "boxes": torch.tensor(
        [
            [10.0, 10.0, 30.0, 30.0],  # 0 apple, correct
            [11.0, 10.0, 31.0, 30.0],  # 1 apple, a duplicate of 0
            [50.0, 50.0, 70.0, 70.0],  # 2 called apple, is an orange: wrong class
            [80.0, 0.0, 90.0, 10.0],  # 3 nothing there: background
            [12.0, 10.0, 32.0, 30.0],
        ]
    ),  # 4 another duplicate, low score
    "scores": torch.tensor([0.9, 0.8, 0.7, 0.6, 0.2]),
    "labels": torch.tensor([1, 1, 1, 2, 1]),
}
