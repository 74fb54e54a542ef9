"""environment.yml (conda, Binder) must list what pyproject.toml lists, with the same bounds."""

import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from conftest import ROOT

CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<spec>.*)$")


def pyproject_requirements() -> dict[str, SpecifierSet]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    requirements = [Requirement(line) for line in lines]
    return {r.name.lower(): r.specifier for r in requirements}


def conda_spec(spec: str) -> SpecifierSet:
    """A conda version spec as a PEP 440 one; conda's `=1.2` means `1.2.*`."""
    spec = spec.replace(" ", "")
    if re.fullmatch(r"=[^=<>!].*", spec):
        spec = f"=={spec[1:]}.*"
    return SpecifierSet(spec)


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def environment_requirements() -> dict[str, SpecifierSet]:
    found: dict[str, SpecifierSet] = {}
    for entry in environment()["dependencies"]:
        if isinstance(entry, dict):
            for line in entry["pip"]:
                if not line.startswith("-"):  # `-e .` installs the course package itself
                    requirement = Requirement(line)
                    found[requirement.name.lower()] = requirement.specifier
            continue
        match = CONDA_SPEC.match(entry)
        if match["name"] not in ("python", "pip"):
            found[match["name"].lower()] = conda_spec(match["spec"])
    return found


def test_environment_file_is_a_valid_conda_environment():
    env = environment()
    assert set(env) == {"name", "channels", "dependencies"}
    assert env["channels"] == ["conda-forge"]
    pip_sections = [e for e in env["dependencies"] if isinstance(e, dict)]
    assert len(pip_sections) == 1 and set(pip_sections[0]) == {"pip"}
    assert "pip" in env["dependencies"], "a pip: section needs pip itself in the environment"
    assert "-e ." in pip_sections[0]["pip"], "the environment must install the nnlab package"
    for entry in env["dependencies"]:
        if isinstance(entry, str):
            assert CONDA_SPEC.match(entry), f"not a conda spec: {entry!r}"


def test_environment_and_pyproject_list_the_same_packages():
    ours, theirs = pyproject_requirements(), environment_requirements()
    assert sorted(theirs) == sorted(ours), (
        f"only in pyproject.toml: {sorted(set(ours) - set(theirs))}; "
        f"only in environment.yml: {sorted(set(theirs) - set(ours))}")


@pytest.mark.parametrize("name", sorted(pyproject_requirements()))
def test_environment_and_pyproject_bounds_agree(name):
    assert environment_requirements()[name] == pyproject_requirements()[name]


def test_environment_python_satisfies_requires_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = next(e for e in environment()["dependencies"] if isinstance(e, str) and e.startswith("python "))
    pinned = CONDA_SPEC.match(python)["spec"].lstrip("= ")
    assert Version(pinned) in SpecifierSet(project["requires-python"])


def test_torch_is_pinned_exactly_so_pip_never_pulls_another_build():
    (spec,) = list(pyproject_requirements()["torch"])
    assert spec.operator == "=="


def test_conda_spec_reads_conda_syntax():
    assert conda_spec(">=1.26,<3") == SpecifierSet(">=1.26,<3")
    assert conda_spec("=3.11") == SpecifierSet("==3.11.*")
