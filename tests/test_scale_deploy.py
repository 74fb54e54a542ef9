"""deploy/ holds together: its YAML parses, its commands and variables are the code's, its Python compiles.

The real validators (yamllint, kubernetes-validate, the Zero-to-JupyterHub values schema, hadolint)
run in ``deploy/check.py``, which says which ran; they are not dependencies of the course, so these
tests only check what needs nothing but the course's own environment.
"""

from __future__ import annotations

import re
import sys

import yaml

from conftest import ROOT, run_tool

DEPLOY = ROOT / "deploy"


def documents() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None:
                found.append((str(path.relative_to(DEPLOY)), document))
    return found


def manifests() -> list[tuple[str, dict]]:
    return [(name, d) for name, d in documents() if name.startswith("k8s/")]


def test_every_yaml_file_parses_and_every_manifest_names_its_kind():
    assert len(documents()) >= 10
    for name, document in manifests():
        assert {"apiVersion", "kind", "metadata"} <= set(document), name
        assert document["metadata"]["labels"]["app.kubernetes.io/part-of"] == "nnlab-course", name


def test_the_workers_run_a_real_command_with_the_variables_the_code_reads():
    (deployment,) = [d for _, d in manifests() if d["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[:3] == ["python", "-m", "autograder"] and command[3] == "worker"
    helped = run_tool(sys.executable, "-m", "autograder", *command[3:4], "--help")
    assert helped.returncode == 0 and "--concurrency" in helped.stdout
    secret = next(d for _, d in manifests() if d["kind"] == "Secret")
    code = "".join(p.read_text() for p in (ROOT / "autograder").glob("*.py")) + (ROOT / "nbgrader_config.py").read_text()
    for variable in list(secret["stringData"])[2:] + [e["name"] for e in container["env"]]:
        assert variable in code, f"{variable} is set by deploy/ but read nowhere"
    for name in ("NNLAB_DB_URL", "NNLAB_BROKER_URL"):
        assert name in secret["stringData"]


def test_the_hub_gives_instructors_the_class_folder_and_the_credentials_and_students_neither():
    values = yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())
    hook = values["hub"]["extraConfig"]["nnlab-instructors"]
    compile(hook, "extraConfig", "exec")
    assert "nnlab-grading" in hook and '"instructors" not in groups' in hook
    singleuser = yaml.dump(values["singleuser"])
    assert "nnlab-grading" not in singleuser and "nnlab-class" not in singleuser
    assert "nnlab-exchange" in singleuser
    for course in (DEPLOY / "z2jh" / "courses").glob("*.yaml"):
        text = yaml.safe_load(course.read_text())
        assert text["singleuser"]["extraEnv"]["NNLAB_COURSE_ID"] == course.stem
        assert text["hub"]["config"]["JupyterHub"]["load_groups"]["instructors"]["users"]


def test_the_image_installs_the_repositorys_own_pins_and_the_sandbox():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r'pip install .*"/opt/nnlab\[lab\]"', dockerfile)
    assert "bubblewrap" in dockerfile and "util-linux" in dockerfile
    compile((DEPLOY / "image" / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec")
