"""environment.yml (conda, Binder) and pyproject.toml (pip) must describe the same environment."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch", "scikit-image": "scikit-image", "pillow": "pillow"}


def _names(requirements):
    return {re.split(r"[<>=!~ \[]", r.strip(), maxsplit=1)[0].lower() for r in requirements}


def _environment_packages():
    names = set()
    for line in (ROOT / "environment.yml").read_text().splitlines():
        item = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)", line)
        if item and not item.group(1).startswith("-") and item.group(1) not in ("python", "pip", "conda-forge"):
            names.add(CONDA_NAMES.get(item.group(1).lower(), item.group(1).lower()))
    return names


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"]) | _names(project["optional-dependencies"]["dev"])
    assert _environment_packages() == wanted


def test_torch_range_admits_the_pair_that_imports_here():
    import torch
    import torchvision
    from torchvision.ops import nms

    assert nms(torch.zeros(1, 4), torch.ones(1), 0.5).tolist() == [0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("torch>=") for d in project["dependencies"])
    assert torchvision.__version__


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
