"""Make the instructors' map of the decks and the slide errata page from the notebooks' own metadata.

    python tools/deckmap.py          # rewrite decks/README.md, decks/<deck>.md and decks/errata.md
    python tools/deckmap.py --check  # exit 1 when they are out of date, or when the data disagree

The data, never written twice:
- ``decks/<deck>.yml``: every item of a deck (slides, formulas, worked examples, numbers), in the
  deck's order, with an id such as ``004:80``; an item no lesson treats carries ``uncovered: <why>``;
- in each solution notebook, ``metadata.nnlab.slides`` on the cells that treat deck items (a list of
  ids), and ``metadata.nnlab.errata`` on the cells that show a deck's error or ambiguity in numbers (a
  list of ``{"item", "kind", "says", "right"}``).

``problems()`` lists every disagreement: an id no deck has, an item mapped to nothing without a
reason, an item with a reason that a lesson does treat, an erratum missing a field. The test suite
runs it and ``--check``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
DECKS = ROOT / "decks"
KINDS = ("error", "ambiguity")
ERRATUM_FIELDS = ("item", "kind", "says", "right")
HEADING = re.compile(r"^(#{1,4})\s+(.*\S)\s*$", re.MULTILINE)
TASK = re.compile(r"(Exercise|Written answer)\b")
MINUTES = re.compile(r"\*\*Time:\*\*[^\n]*?(\d+)(?:\s*(?:to|–|-)\s*(\d+))?\s*(minutes|min|hours?|h)\b")


@dataclass(frozen=True)
class Place:
    """Where a lesson treats something: the lesson, the section heading above the cell, the cell."""
    lesson: str
    section: str
    cell: int

    def link(self, prefix: str = "../") -> str:
        anchor = self.section.replace(" ", "-")
        return f"[{self.lesson} § {self.section}]({prefix}lessons/{self.lesson}/{self.lesson}.ipynb#{anchor})"


def load_decks() -> dict[str, dict]:
    return {path.stem: yaml.safe_load(path.read_text()) for path in sorted(DECKS.glob("*.yml"))}


def lesson_minutes(notebook) -> int | None:
    """The header's "**Time:** … N minutes" (the larger number of a range), in minutes."""
    match = MINUTES.search(notebook.cells[0].source)
    if not match:
        return None
    value = int(match.group(2) or match.group(1))
    return value * 60 if match.group(3).startswith("h") else value


def _section(cells, index: int) -> str:
    """The last heading at or above cell ``index`` that names a section, not an exercise's task."""
    for cell in reversed(cells[: index + 1]):
        if cell.cell_type == "markdown":
            headings = [text for _, text in HEADING.findall(cell.source) if not TASK.match(text)]
            if headings:
                return headings[-1]
    return ""


def read_lessons() -> dict[str, object]:
    return {path.parent.name: nbformat.read(path, as_version=4)
            for path in sorted(ROOT.glob("solutions/*/*.ipynb"))}


def collect(lessons: dict) -> tuple[dict[str, list[Place]], list[tuple[Place, dict]]]:
    """(item id -> the places treating it, [(place, erratum)]) over every lesson."""
    treated: dict[str, list[Place]] = {}
    errata: list[tuple[Place, dict]] = []
    for lesson, notebook in lessons.items():
        for index, cell in enumerate(notebook.cells):
            meta = cell.metadata.get("nnlab", {})
            if not isinstance(meta, dict):
                continue
            place = Place(lesson, _section(notebook.cells, index), index)
            for item in meta.get("slides", []):
                treated.setdefault(item, []).append(place)
            errata += [(place, entry) for entry in meta.get("errata", [])]
    return treated, errata


def problems(decks: dict, lessons: dict) -> list[str]:
    treated, errata = collect(lessons)
    known = {item["id"]: item for deck in decks.values() for item in deck["items"]}
    found = [f"{p.lesson} cell {p.cell}: nnlab.slides names {item!r}, which no deck has"
             for item, places in treated.items() if item not in known for p in places]
    for item_id, item in known.items():
        if item_id not in treated and not item.get("uncovered"):
            found.append(f"{item_id} ({item['topic'][:60]}): no lesson treats it and no reason is given")
        if item_id in treated and item.get("uncovered"):
            found.append(f"{item_id}: marked uncovered, but {treated[item_id][0].lesson} treats it")
    for place, entry in errata:
        where = f"{place.lesson} cell {place.cell}"
        missing = [field for field in ERRATUM_FIELDS if not str(entry.get(field, "")).strip()]
        if missing:
            found.append(f"{where}: erratum lacks {', '.join(missing)}")
        elif entry["item"] not in known:
            found.append(f"{where}: erratum names {entry['item']!r}, which no deck has")
        elif entry["kind"] not in KINDS:
            found.append(f"{where}: erratum kind {entry['kind']!r} is not one of {KINDS}")
    for lesson, notebook in lessons.items():
        if lesson_minutes(notebook) is None:
            found.append(f"{lesson}: the header has no '**Time:** … N minutes'")
    return found


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def deck_page(deck: dict, treated: dict, lessons: dict) -> str:
    used = sorted({p.lesson for item in deck["items"] for p in treated.get(item["id"], [])})
    minutes = {lesson: lesson_minutes(lessons[lesson]) or 0 for lesson in used}
    lines = [f"# Deck {deck['deck']}: {deck['title']}", "",
             f"Made by `tools/deckmap.py` from `decks/{deck['deck']}.yml` and the lessons' metadata: do not edit.", "",
             f"Deck text: `{deck['file']}` (the slides folder). Lessons that treat it: "
             + ", ".join(f"{lesson} ({minutes[lesson]} min)" for lesson in used)
             + f"; all of them together take about {sum(minutes.values())} minutes.", "",
             "| item | deck | where the course treats it |", "|---|---|---|"]
    for item in deck["items"]:
        places = treated.get(item["id"], [])
        where = "; ".join(dict.fromkeys(p.link() for p in places)) if places else f"not treated: {item.get('uncovered', '**no lesson yet, and no reason given**')}"
        topic = item["topic"] + (f" (l. {item['lines']})" if item.get("lines") else "")
        lines.append(f"| {item['id']} | {_cell(topic)} | {_cell(where)} |")
    return "\n".join(lines) + "\n"


def errata_page(decks: dict, errata: list) -> str:
    known = {item["id"]: item for deck in decks.values() for item in deck["items"]}
    lines = ["# Slide errata", "",
             "Every error or ambiguity in the decks that a lesson demonstrates in numbers. Made by",
             "`tools/deckmap.py` from the lessons' `metadata.nnlab.errata`: do not edit. An *ambiguity* may be an",
             "artefact of the slides' text extraction; an *error* is wrong whichever way it is read.", "",
             "| deck item | kind | the deck says | what is right | shown in |", "|---|---|---|---|---|"]
    for place, entry in sorted(errata, key=lambda pe: (pe[1]["item"].split(":")[0], int(pe[1]["item"].split(":")[1]))):
        topic = known.get(entry["item"], {}).get("topic", "")
        lines.append(f"| {entry['item']} ({_cell(topic[:70])}) | {entry['kind']} | {_cell(entry['says'])} | "
                     f"{_cell(entry['right'])} | {place.link()}, cell {place.cell} |")
    return "\n".join(lines) + "\n"


def index_page(decks: dict, treated: dict, errata: list, lessons: dict) -> str:
    lines = ["# The decks, item by item", "",
             "For instructors: where the course treats every item of each slide deck, and what the decks get wrong.",
             "Made by `tools/deckmap.py`: do not edit.", "",
             "| deck | items | treated | not treated (with the reason) | page |", "|---|---|---|---|---|"]
    for name, deck in decks.items():
        items = deck["items"]
        done = sum(1 for item in items if item["id"] in treated)
        lines.append(f"| {name}: {_cell(deck['title'])} | {len(items)} | {done} | {len(items) - done} | [{name}.md]({name}.md) |")
    lines += ["", f"[Slide errata](errata.md): {len(errata)} errors and ambiguities shown in numbers."]
    using = {place.lesson for places in treated.values() for place in places}
    beyond = [lesson for lesson in lessons if lesson not in using and lesson != "00_welcome"]
    if beyond:
        lines += ["", "Beyond the decks (no deck covers them): " + ", ".join(
            f"[{lesson}](../lessons/{lesson}/{lesson}.ipynb) ({lesson_minutes(lessons[lesson]) or 0} min)" for lesson in beyond) + "."]
    return "\n".join(lines) + "\n"


def pages() -> dict[Path, str]:
    decks, lessons = load_decks(), read_lessons()
    treated, errata = collect(lessons)
    out = {DECKS / "README.md": index_page(decks, treated, errata, lessons), DECKS / "errata.md": errata_page(decks, errata)}
    out.update({DECKS / f"{name}.md": deck_page(deck, treated, lessons) for name, deck in decks.items()})
    return out


def main(argv: list[str]) -> int:
    decks, lessons = load_decks(), read_lessons()
    found = problems(decks, lessons)
    for line in found:
        print(f"problem: {line}")
    stale = []
    for path, text in pages().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path.relative_to(ROOT))
            if "--check" not in argv:
                path.write_text(text)
    for path in stale:
        print(f"{'out of date' if '--check' in argv else 'wrote'}: {path}")
    return 1 if "--check" in argv and (found or stale) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
