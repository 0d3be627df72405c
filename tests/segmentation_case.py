"""A 4 × 5 picture with its true and predicted class maps, shared by the widget and plot tests."""

import numpy as np

PALETTE = np.array([[0, 0, 0], [0, 0, 255], [0, 255, 0]], dtype=np.uint8)
IMAGE = np.full((4, 5, 3), 100, dtype=np.uint8)
TRUTH = np.array([[0, 0, 1, 1, 2]] * 4)
PREDICTION = np.array([[0, 1, 1, 1, 2]] * 4)  # column 1 is wrong: class 1 instead of 0
