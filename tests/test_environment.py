"""environment.yml (conda) must list what pyproject.toml lists, with the same bounds, under conda-forge's names."""

import re
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from conftest import ROOT

CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<spec>.*)$")

# conda-forge's name for a PyPI requirement, where the two differ. An extra becomes the packages it
# brings, since conda has none: the first keeps the requirement's bounds, the others are listed in
# EXTRA_PACKAGES. conda-forge's "playwright" is the Node.js command line, not the Python library.
CONDA_NAMES = {
    "playwright": "playwright-python",
    "celery[redis]": "celery",
    "psycopg[binary]": "psycopg",
}
EXTRA_PACKAGES = {"celery[redis]": ["redis-py"]}  # conda-forge's Redis client (PyPI: redis)
EXTRA_NAMES = {name for names in EXTRA_PACKAGES.values() for name in names}
PYPI_NAMES = {conda: pypi.split("[")[0] for pypi, conda in CONDA_NAMES.items()}


def pyproject_requirements() -> dict[str, SpecifierSet]:
    """Every requirement by name; where an extra names a base requirement again (ipywidgets: 7.7 for Colab,
    8.1 in `lab`), the extra's bounds, which are the ones the full environment installs."""
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
        name = match["name"].lower()
        if name not in ("python", "pip") and name not in EXTRA_NAMES:
            found[PYPI_NAMES.get(name, name)] = conda_spec(match["spec"])
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


def test_every_conda_name_that_differs_is_mapped_and_every_extra_is_expanded():
    """A PyPI requirement with an extra, or one whose conda-forge name differs, appears under its
    conda-forge name; the packages an extra brings are listed too."""
    names = {CONDA_SPEC.match(e)["name"].lower() for e in environment()["dependencies"] if isinstance(e, str)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    pip_lines = next(e["pip"] for e in environment()["dependencies"] if isinstance(e, dict))
    for line in lines:
        requirement = Requirement(line)
        if any(Requirement(p).name == requirement.name for p in pip_lines if not p.startswith("-")):
            continue  # installed by pip, under its PyPI name
        key = requirement.name + (f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else "")
        assert not requirement.extras or key in CONDA_NAMES, f"{line}: conda has no extras; map {key} in CONDA_NAMES"
        assert CONDA_NAMES.get(key, requirement.name) in names, f"{line}: not in environment.yml as {CONDA_NAMES.get(key, requirement.name)}"
        for extra_package in EXTRA_PACKAGES.get(key, []):
            assert extra_package in names, f"{line}: environment.yml lacks {extra_package}, which the extra brings"
    assert "playwright" not in names, "conda-forge's playwright is the Node.js CLI: the Python library is playwright-python"
