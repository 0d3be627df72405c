"""Shared fixtures: small copies of every toy dataset, rendered once per test session."""

import os

import matplotlib

matplotlib.use("Agg")

import pytest
from hypothesis import settings

# CI and `make test` draw the same examples every run, so a pass or a failure repeats;
# HYPOTHESIS_PROFILE=explore draws fresh random examples to hunt for new edge cases.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

from cvlearn import data, toyworld  # noqa: E402 (after hypothesis has its profile)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets")


@pytest.fixture(scope="session", autouse=True)
def data_folder_in_tmp(data_root):
    """Tests write datasets only under pytest's temporary folder, never into the course's ``datasets/``.

    Tests of where the data folder goes remove ``$CVLEARN_DATA`` again with ``monkeypatch``.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(data.DATA_ENV, str(data_root))
        yield


@pytest.fixture(scope="session")
def small(data_root):
    """``small(name, split="train", n=60)``: a cached, small split of a toy dataset."""
    cache = {}

    def get(name, split="train", n=60, seed=0):
        key = (name, split, n, seed)
        if key not in cache:
            cache[key] = data.load(name, split, root=data_root, n=n, seed=seed, progress=False)
        return cache[key]

    return get


ALL_DATASETS = sorted(toyworld.SPECS)
