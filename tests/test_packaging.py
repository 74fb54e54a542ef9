"""The course outside `make`: its metadata, licences, Binder, CI and pre-commit files, the Colab install
cell, and a plain pip environment that validates a lesson.

The last two build a throwaway virtual environment in a temporary folder. So that it costs seconds and
downloads nothing, that environment sees the distributions already installed here (numpy, torch,
nbgrader…) through a `.pth` file, but not the course package, and pip runs with `--no-index`: pip must
find every requirement of pyproject.toml satisfied, and it installs the package itself (built from a
copy of the checkout) into the new environment. A requirement that pip would have to download, or
replace, fails the test. Whether PyPI serves all of them from nothing is the CI's notebooks job.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from conftest import ROOT, solution_path
from test_environment import CONDA_SPEC, conda_spec, environment, pyproject_requirements

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

sys.path.insert(0, str(ROOT / "tools"))
import headers  # noqa: E402  (tools/headers.py)

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
HOME = PROJECT["urls"]["Repository"].rstrip("/")
WORKFLOW = ROOT / ".github" / "workflows" / "test.yml"
# the fastest lesson to validate end to end (kernel start, numpy and the helpers, no training)
VALIDATED_LESSON = "00_welcome"


# --- pyproject.toml, licences, CITATION.cff -------------------------------------------------------

def test_project_metadata_names_its_home_authors_and_audience():
    assert PROJECT["name"] == "nnlab-course" and PROJECT["authors"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", HOME), HOME
    for label, url in PROJECT["urls"].items():
        assert url.startswith(HOME), f"[project.urls] {label} = {url} is not under Repository ({HOME}): a fork changes them together"
    classifiers = PROJECT["classifiers"]
    assert "Intended Audience :: Education" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")], "PEP 639: the licence is the `license` expression"


def test_python_classifiers_agree_with_requires_python_and_the_ci_matrix():
    listed = sorted((c.rsplit(" :: ", 1)[1] for c in PROJECT["classifiers"]
                     if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)), key=Version)
    assert all(Version(v) in SpecifierSet(PROJECT["requires-python"]) for v in listed)
    assert f">={listed[0]}" == PROJECT["requires-python"], "the oldest classifier is requires-python's bound"
    matrix = yaml.safe_load(WORKFLOW.read_text())["jobs"]["notebooks"]["strategy"]["matrix"]["python-version"]
    assert matrix == listed, "the notebooks job runs every Python the classifiers promise"


def test_licence_split_code_mit_content_cc_by():
    assert PROJECT["license"] == "MIT AND CC-BY-4.0"
    assert PROJECT["license-files"] == ["LICENSE", "LICENSE-content"]
    code, content = (ROOT / "LICENSE").read_text(), (ROOT / "LICENSE-content").read_text()
    assert code.startswith("MIT License") and "Permission is hereby granted, free of charge" in code
    assert "Creative Commons Attribution 4.0 International Public License" in content  # the legal code itself
    assert "MIT License (the file LICENSE)" in content and "code cell of the notebooks" in content
    readme_licence = (ROOT / "README.md").read_text().split("\n## License\n", 1)[1]
    assert "LICENSE-content" in readme_licence and "CC BY 4.0" in readme_licence and "MIT" in readme_licence


def test_citation_file_agrees_with_pyproject():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(cff) and all("name" in a or "family-names" in a for a in cff["authors"])
    assert cff["version"] == PROJECT["version"]
    assert cff["license"] == PROJECT["license"].split(" AND ")
    assert cff["repository-code"] == HOME


# --- Binder ---------------------------------------------------------------------------------------

def binder_environment() -> dict:
    return yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())


def test_binder_environment_is_the_learner_part_of_the_course_environment():
    """binder/ (which Binder reads instead of the root) holds what a learner needs, with the bounds of
    environment.yml and pyproject.toml, and no test or grading-server packages."""
    binder, full = binder_environment(), environment()
    assert binder["channels"] == full["channels"] == ["conda-forge"]
    specs = {m["name"]: m["spec"] for m in (CONDA_SPEC.match(e) for e in binder["dependencies"] if isinstance(e, str))}
    full_specs = {m["name"]: m["spec"] for m in (CONDA_SPEC.match(e) for e in full["dependencies"] if isinstance(e, str))}
    learner = [Requirement(r).name for r in PROJECT["dependencies"]] + ["jupyterlab", "ipykernel", "nbgrader"]
    assert sorted(set(specs) - {"python", "pip"}) == sorted(learner)
    for name, spec in specs.items():
        assert spec == full_specs[name], f"binder/environment.yml: {name} {spec!r}, environment.yml: {full_specs[name]!r}"
    (pip,) = [e["pip"] for e in binder["dependencies"] if isinstance(e, dict)]
    torch = [Requirement(line) for line in pip if not line.startswith("-")]
    assert [(r.name, r.specifier) for r in torch] == [("torch", pyproject_requirements()["torch"])]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip, "Binder has no GPU: the CPU build"


def test_binder_postbuild_installs_the_package_and_checks_what_notebooks_need():
    post = ROOT / "binder" / "postBuild"
    assert post.stat().st_mode & stat.S_IXUSR, "repo2docker runs postBuild only when it is executable"
    text = post.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    assert "pip install --no-cache-dir --no-deps -e ." in text
    assert "'python3' in" in text and "validate_assignment.*enabled" in text
    assert subprocess.run(["bash", "-n", str(post)], capture_output=True).returncode == 0


@pytest.mark.notebooks  # imports the server extensions: seconds
def test_binder_postbuild_checks_pass_in_a_working_environment():
    """postBuild's checks (all of it but the install line) pass here, where the course works."""
    lines = (ROOT / "binder" / "postBuild").read_text().split("\n")
    checks = "\n".join(line for line in lines if "pip install" not in line)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(["bash", "-c", checks], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]


def test_badges_follow_colab_and_binder_url_formats():
    """Colab opens github/<owner>/<repo>/blob/<ref>/<path>; Binder v2/gh/<owner>/<repo>/<ref>?labpath=<path>."""
    slug, tag = headers.repository()
    assert tag == f"v{PROJECT['version']}" and HOME.endswith(slug)
    line = headers.badges(VALIDATED_LESSON)
    path = f"lessons/{VALIDATED_LESSON}/{VALIDATED_LESSON}.ipynb"
    assert f"(https://colab.research.google.com/github/{slug}/blob/{tag}/{path})" in line
    assert f"(https://mybinder.org/v2/gh/{slug}/{tag}?labpath={path.replace('/', '%2F')})" in line
    for notebook in sorted(ROOT.glob("lessons/*/*.ipynb")):
        title = nbformat.read(notebook, as_version=4).cells[0].source
        assert headers.badges(notebook.parent.name) in title, f"{notebook.name}: stale badges (python tools/headers.py)"


def test_every_solution_header_is_what_tools_headers_writes():
    assert headers.main(["--check"]) == 0, "run `python tools/headers.py`, then `make release`"


# --- CI workflow and pre-commit -------------------------------------------------------------------

def steps_text(job: dict) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_workflow_runs_make_test_as_ci_run_does_and_notebooks_on_a_python_matrix():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert set(workflow[True]) >= {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    suite, notebooks = workflow["jobs"]["suite"], workflow["jobs"]["notebooks"]
    assert suite["runs-on"] == "ubuntu-24.04"
    suite_steps = steps_text(suite)
    assert "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in suite_steps
    ci_run_packages = re.search(r'needed="([^"]+)"', (ROOT / ".ci" / "run").read_text())[1].split()
    for package in {pair.split(":")[1] for pair in ci_run_packages} - {"make", "git", "chromium"}:
        assert package in suite_steps, f"the suite job installs {package}, as .ci/run does"
    assert "bash .ci/run" in suite_steps
    assert suite["env"]["NNLAB_CHROMIUM"] == "/usr/bin/google-chrome"
    python = next(s["with"]["python-version"] for s in suite["steps"] if "setup-python" in s.get("uses", ""))
    conda_python = next(e for e in environment()["dependencies"] if isinstance(e, str) and e.startswith("python "))
    assert Version(python) in conda_spec(CONDA_SPEC.match(conda_python)["spec"])
    notebook_steps = steps_text(notebooks)
    assert not re.search(r"\bmake\b", notebook_steps), "the notebooks job installs with plain pip, no make"
    assert "pytest -q -n auto --dist loadfile solutions" in notebook_steps
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), f"pin actions to a major version: {step['uses']}"


def test_pre_commit_strips_outputs_and_runs_the_structure_checks():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: (repo["repo"], hook) for repo in config["repos"] for hook in repo["hooks"]}
    repo, strip = hooks["nbstripout"]
    assert repo == "https://github.com/kynan/nbstripout" and "--keep-id" in strip["args"]
    assert hooks["notebook-headers"][1]["entry"] == "python tools/headers.py --check"
    structure = hooks["notebook-structure"][1]["entry"]
    for test_file in re.findall(r"tests/\S+\.py", structure):
        assert (ROOT / test_file).exists(), test_file


# --- the Colab install cell and a plain pip environment --------------------------------------------

def test_install_cell_pins_the_release_and_never_names_torch():
    cell = headers.install_source()
    default = re.search(r'os\.environ\.get\("NNLAB_INSTALL", "([^"]+)"\)', cell)[1]
    requirement = Requirement(default)
    assert requirement.name == PROJECT["name"]
    assert requirement.url == f"git+{HOME}@v{PROJECT['version']}"
    assert "torch" not in cell.split("\n", 2)[2] and "--upgrade" not in cell
    assert not [r for r in PROJECT["dependencies"] if Requirement(r).name == "torch"], "Colab keeps its own torch"
    base = {Requirement(r).name: Requirement(r).specifier for r in PROJECT["dependencies"]}
    assert Version("7.7.1") in base["ipywidgets"], "Colab's ipywidgets (7.7.1; its front end renders no 8) must satisfy the base"


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A new virtual environment that sees this one's distributions, except the course package's."""
    work = tmp_path_factory.mktemp("plain-pip")
    here = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()))
    shown = work / "installed-elsewhere"
    shown.mkdir()
    for entry in here.iterdir():  # symbolic links: nothing is copied
        if not entry.name.startswith(("nnlab", "__editable__")) and not entry.name.endswith(".pth"):
            (shown / entry.name).symlink_to(entry)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "installed-elsewhere.pth").write_text(f"{shown}\n")
    source = work / "checkout"  # what pip needs to build the package, copied (a few hundred kB)
    source.mkdir()
    for name in ("pyproject.toml", "README.md", *PROJECT["license-files"]):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    # no index: whatever pip would download fails; no build isolation: setuptools is among those shown
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_CONFIG_FILE=os.devnull, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return {"python": python, "site": site, "shown": shown, "source": source, "env": env, "work": work}


def where(bare, *modules) -> dict:
    code = "import importlib.util as u, sys; print('\\n'.join(str(getattr(u.find_spec(m), 'origin', None)) for m in sys.argv[1:]))"
    out = subprocess.run([bare["python"], "-c", code, *modules], capture_output=True, text=True, env=bare["env"])
    return dict(zip(modules, out.stdout.split("\n")))


def run_install_cell(bare, *, spy: bool, extra_env=None) -> subprocess.CompletedProcess:
    """Run the notebooks' install cell in the bare environment; with ``spy``, subprocess.run only records."""
    prelude = textwrap.dedent("""\
        import subprocess
        calls = []
        subprocess.run = lambda *args, **kwargs: calls.append(args[0])
    """) if spy else ""
    code = prelude + headers.install_source() + ("\nprint('CALLS', calls)" if spy else "")
    return subprocess.run([bare["python"], "-c", code], capture_output=True, text=True, timeout=300,
                          env={**bare["env"], **(extra_env or {})})


@pytest.mark.notebooks  # a new environment and real kernels: seconds, not milliseconds
def test_install_cell_installs_the_package_where_it_is_missing_and_keeps_torch_and_numpy(bare_python):
    bare = bare_python
    before = where(bare, "nnlab", "numpy", "torch")
    assert before["nnlab"] == "None" and before["torch"].startswith(str(bare["shown"]))
    planned = run_install_cell(bare, spy=True)
    assert planned.returncode == 0, planned.stderr
    default = re.search(r'"NNLAB_INSTALL", "([^"]+)"', headers.install_source())[1]
    assert f"'-m', 'pip', 'install', '--quiet', '{default}']" in planned.stdout

    done = run_install_cell(bare, spy=False, extra_env={"NNLAB_INSTALL": str(bare["source"])})
    assert done.returncode == 0, f"pip failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    after = where(bare, "nnlab", "numpy", "torch")
    assert after["nnlab"].startswith(str(bare["site"])), after
    assert after["numpy"] == before["numpy"] and after["torch"] == before["torch"], "torch or numpy was replaced"
    installed = sorted(p.name for p in bare["site"].iterdir() if p.name != "__pycache__")
    assert installed == ["installed-elsewhere.pth", "nnlab", f"nnlab_course-{PROJECT['version']}.dist-info"], installed
    assert (bare["site"] / "nnlab" / "data" / "shakespeare.txt").exists(), "package data is installed"


@pytest.mark.notebooks  # a new environment and real kernels: seconds, not milliseconds
def test_install_cell_does_nothing_where_the_package_is_present(bare_python):
    if where(bare_python, "nnlab")["nnlab"] == "None":
        pytest.skip("the previous test did not install the package")
    ran = run_install_cell(bare_python, spy=True)
    assert ran.returncode == 0 and "CALLS []" in ran.stdout, ran.stdout + ran.stderr


@pytest.mark.notebooks  # a new environment and real kernels: seconds, not milliseconds
def test_plain_pip_environment_validates_a_lesson_without_make(bare_python):
    """`pip install <checkout>[lab]` (no make, no .venv, no kernel registered) and `nbgrader validate`
    in a folder outside the repository, with the standard python3 kernel of that environment."""
    bare = bare_python
    pip = subprocess.run([bare["python"], "-m", "pip", "install", "--quiet", f"{bare['source']}[lab]"],
                         capture_output=True, text=True, env=bare["env"], timeout=300)
    assert pip.returncode == 0, f"a requirement of the lab extra is not satisfied:\n{pip.stderr[-3000:]}"
    folder = bare["work"] / "learner"
    folder.mkdir()
    shutil.copy2(solution_path(VALIDATED_LESSON), folder / f"{VALIDATED_LESSON}.ipynb")
    jupyter = bare["work"] / "jupyter"
    env = {**bare["env"], "JUPYTER_DATA_DIR": str(jupyter / "data"), "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
           "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"), "MPLBACKEND": "Agg"}
    ask = "from jupyter_client.kernelspec import KernelSpecManager as M; print(M().get_kernel_spec('python3').argv[0])"
    kernel = subprocess.run([bare["python"], "-c", ask], capture_output=True, text=True, env=env, cwd=folder)
    python3 = kernel.stdout.strip()
    assert python3 in ("python", str(bare["python"])), f"python3 kernel runs {python3}, not this environment's Python"
    validated = subprocess.run([bare["python"], "-m", "nbgrader", "validate", f"{VALIDATED_LESSON}.ipynb"],
                               capture_output=True, text=True, env=env, cwd=folder, timeout=300)
    assert "Success!" in validated.stdout, validated.stdout[-3000:] + validated.stderr[-3000:]


def test_readme_quick_start_links_lesson_00_as_its_badges_do():
    """The README's Colab and Binder links are the ones tools/headers.py writes (a fork's URL change shows)."""
    quick_start = (ROOT / "README.md").read_text().split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    badge_urls = re.findall(r"\]\((https://(?:colab|mybinder)[^)]+/(?:lessons|v\d)[^)]*)\)", headers.badges(VALIDATED_LESSON))
    assert len(badge_urls) == 2
    for url in badge_urls:
        assert f"({url})" in quick_start, f"README quick start should link {url}"
    assert f"git clone {HOME} " in quick_start and "make lab" in quick_start and "make test" in quick_start
