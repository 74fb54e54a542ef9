"""Write the shared parts of every lesson's header: the badges line and the install cell.

    python tools/headers.py          # rewrite solutions/*/*.ipynb in place (then `make release`)
    python tools/headers.py --check  # exit 1 and name the notebooks that are out of date

Both parts are made from pyproject.toml, so a fork that changes ``[project.urls] Repository`` or
the version and runs this script gets badges and an install cell that point at itself:

- the title cell's second line: *Open in Colab* and *Binder* badges for the lesson's release
  notebook at the release tag ``v<version>``, and a link to the course's notation page;
- the first code cell: installs the helper package on Colab or any Python that lacks it (pinned
  to the release tag; torch and numpy already there are kept, since the package itself does not
  require torch), and does nothing where the course is installed.
"""

from __future__ import annotations

import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib
from pathlib import Path
from urllib.parse import quote

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BADGE_MARK = "[![Open in Colab]"
INSTALL_ID = "install-nnlab"

INSTALL_CELL = '''\
# On Colab, or in any Python without the course, this installs its helper package (pinned to this
# release) and keeps the torch and numpy already there. Where the course is installed it does nothing.
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("nnlab") is None:
    source = os.environ.get("NNLAB_INSTALL", "{requirement}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
    importlib.invalidate_caches()'''


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def repository() -> tuple[str, str]:
    """('owner/name', 'v<version>') of the course's GitHub repository and release tag."""
    meta = project()
    url = meta["urls"]["Repository"].rstrip("/")
    return url.removeprefix("https://github.com/"), f"v{meta['version']}"


def badges(lesson: str) -> str:
    slug, tag = repository()
    path = f"lessons/{lesson}/{lesson}.ipynb"
    colab = f"https://colab.research.google.com/github/{slug}/blob/{tag}/{path}"
    binder = f"https://mybinder.org/v2/gh/{slug}/{tag}?labpath={quote(path, safe='')}"
    return (f"{BADGE_MARK}(https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder}) "
            f"· notation: [NOTATION.md](../../NOTATION.md)")


def install_source() -> str:
    slug, tag = repository()
    return INSTALL_CELL.format(requirement=f"{project()['name']} @ git+https://github.com/{slug}@{tag}")


def with_header(notebook, lesson: str):
    """``notebook`` with its badges line and install cell as this script writes them (in place)."""
    title = notebook.cells[0]
    lines = title.source.split("\n")
    rest = [line for line in lines[1:] if not line.startswith(BADGE_MARK)]
    while rest and not rest[0].strip():
        rest.pop(0)
    title.source = "\n".join([lines[0], "", badges(lesson), ""] + rest)
    install = next((c for c in notebook.cells if c.get("id") == INSTALL_ID), None)
    if install is None:
        install = nbformat.v4.new_code_cell(id=INSTALL_ID)
        notebook.cells.insert(1, install)
        del install["execution_count"]
        install.execution_count = None
    install.source = install_source()
    install.metadata = {"nnlab": {"role": "install"}}
    notebook.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                       "name": "python3"}
    return notebook


def main(argv: list[str]) -> int:
    stale = []
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        text = path.read_text()
        notebook = with_header(nbformat.reads(text, as_version=4), path.parent.name)
        new = nbformat.writes(notebook) + "\n"
        if new != text:
            stale.append(path.relative_to(ROOT))
            if "--check" not in argv:
                path.write_text(new)
    for path in stale:
        print(f"{'out of date' if '--check' in argv else 'rewrote'}: {path}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
