"""cvlearn.metrics.counting: density maps that keep the count, and counting errors."""

import math

import numpy as np
import pytest
import torch

from cvlearn.metrics.counting import count_errors, density_map, error_by_crowd_size


def test_density_map_sums_to_the_count_on_toy_crowd(small):
    ds = small("toy-crowd", "val", n=20)
    for i in range(0, len(ds), 4):
        target = ds[i][1]
        for stride in (1, 4):
            density = density_map(target["points"], (ds.size, ds.size), sigma=2.0, stride=stride)
            assert density.shape == (ds.size // stride, ds.size // stride) and density.dtype == torch.float32
            assert float(density.sum()) == pytest.approx(target["count"], rel=1e-5)
            assert bool((density >= 0).all())


def test_one_point_by_hand():
    density = density_map([[2.5, 1.5]], (4, 6), sigma=1.0)  # the centre of pixel (row 1, column 2)
    assert float(density.sum()) == pytest.approx(1.0)
    assert tuple(np.unravel_index(int(density.argmax()), density.shape)) == (1, 2)
    gx = np.exp(-((np.arange(6) - 2.0) ** 2) / 2)
    gy = np.exp(-((np.arange(4) - 1.0) ** 2) / 2)
    expected = np.outer(gy / gy.sum(), gx / gx.sum())  # truncated at the border, renormalised
    assert np.allclose(density.numpy(), expected, atol=1e-7)


def test_border_and_outside_points_keep_their_mass():
    at_corner = density_map([[0.0, 0.0]], (16, 16), sigma=3.0)
    far_outside = density_map([[-500.0, 40.0]], (16, 16), sigma=1.0)  # exp underflows without care
    assert float(at_corner.sum()) == pytest.approx(1.0) and float(far_outside.sum()) == pytest.approx(1.0)
    assert float(far_outside[:, 0].sum()) == pytest.approx(1.0)  # all on the nearest column
    assert float(density_map(torch.zeros(0, 2), (8, 8)).sum()) == 0.0


def test_sigma_per_point_spreads_each_point_its_own_way():
    density = density_map([[4.5, 4.5], [12.5, 4.5]], (16, 16), sigma=[0.5, 3.0])
    assert float(density.sum()) == pytest.approx(2.0)
    assert density[4, 4] > 0.5 > density[4, 12]


def test_count_errors_by_hand():
    scores = count_errors(torch.tensor([10.0, 20.0, 33.0]), [12, 20, 30])
    assert scores == pytest.approx({"count_mae": 5 / 3, "count_rmse": math.sqrt(13 / 3), "mean_count": 62 / 3})


def test_error_by_crowd_size_rows():
    rows = error_by_crowd_size([25, 15, 90, 300], [20, 18, 100, 300], bins=[0, 50, 100, 300])
    assert [(r["low"], r["high"], r["images"]) for r in rows] == [(0, 50, 2), (50, 100, 0), (100, 300, 2)]
    assert rows[0]["mae"] == 4.0 and rows[0]["bias"] == 1.0 and rows[0]["mean_count"] == 19.0
    assert rows[0]["rmse"] == pytest.approx(math.sqrt(17)) and rows[0]["relative_mae"] == pytest.approx(4 / 19)
    assert math.isnan(rows[1]["mae"]) and math.isnan(rows[1]["mean_count"])
    assert rows[2]["bias"] == -5.0  # the last bin takes its upper edge, 300


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="points must be"):
        density_map(torch.zeros(3), (8, 8))
    with pytest.raises(ValueError, match="size must be"):
        density_map(torch.zeros(1, 2), (10, 8), stride=4)
    with pytest.raises(ValueError, match="stride must be"):
        density_map(torch.zeros(1, 2), (8, 8), stride=0)
    with pytest.raises(ValueError, match="sigma must be"):
        density_map(torch.zeros(1, 2), (8, 8), sigma=0.0)
    with pytest.raises(ValueError, match="one per point"):
        density_map(torch.zeros(3, 2), (8, 8), sigma=[1.0, 2.0])
    with pytest.raises(ValueError, match="pair up"):
        count_errors([1, 2], [1])
    with pytest.raises(ValueError, match="true_counts is empty"):
        count_errors([], [])
    with pytest.raises(ValueError, match="bins must cover"):
        error_by_crowd_size([1, 2], [1, 400], [0, 300])
    with pytest.raises(ValueError, match="increasing"):
        error_by_crowd_size([1], [1], [0, 0])
