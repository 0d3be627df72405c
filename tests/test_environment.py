"""environment.yml (conda, Binder) and pyproject.toml (pip) must describe the same environment."""

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there, the same parser
    import tomli as tomllib

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


def _requirements() -> dict[str, Requirement]:
    """pyproject.toml's requirements, the dev extra included, by package name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = (Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    return {r.name.lower(): r for r in found}


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _out_of_range(requirements: dict[str, Requirement], installed=_installed) -> dict[str, str]:
    """``{name: "installed, wanted range"}`` for each requirement (that applies here) the installed version misses."""
    wrong = {}
    for name, requirement in requirements.items():
        if requirement.marker is None or requirement.marker.evaluate():
            version = installed(name)
            if version == "not installed" or not requirement.specifier.contains(version, prereleases=True):
                wrong[name] = f"{version}, wanted {requirement.specifier}"
    return wrong


def test_every_installed_package_is_in_its_pyproject_range():
    assert not _out_of_range(_requirements())


def test_the_range_check_catches_a_version_outside_the_range():
    ranges = {
        name: Requirement(text)
        for name, text in (("torch", "torch>=2.4"), ("numpy", "numpy>=1.24,<2"), ("tqdm", "tqdm>=4.66"))
    }
    versions = {"torch": "2.3.1", "numpy": "2.1.0"}.get
    assert _out_of_range(ranges, lambda name: versions(name, "not installed")) == {
        "torch": "2.3.1, wanted >=2.4",
        "numpy": "2.1.0, wanted <2,>=1.24",
        "tqdm": "not installed, wanted >=4.66",
    }
    assert not _out_of_range(ranges, lambda name: {"torch": "2.4.0", "numpy": "1.26.4", "tqdm": "4.66.1"}[name])


def _torchvision_minor_for(torch_version: str) -> int:
    """torchvision 0.(N+15) is the release built for torch 2.N: 0.19 for 2.4, 0.29 for 2.14."""
    return Version(torch_version).minor + 15


def test_torch_and_torchvision_installed_and_required_as_a_pair():
    import torch
    import torchvision
    from torchvision.ops import nms

    # a torchvision built for another torch fails to load its compiled operators, nms among them
    assert nms(torch.zeros(1, 4), torch.ones(1), 0.5).tolist() == [0]
    assert Version(torchvision.__version__).minor == _torchvision_minor_for(torch.__version__), (
        torch.__version__,
        torchvision.__version__,
    )
    floors = {
        name: next(s.version for s in _requirements()[name].specifier if s.operator == ">=")
        for name in ("torch", "torchvision")
    }
    assert Version(floors["torchvision"]).minor == _torchvision_minor_for(floors["torch"]), floors


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
