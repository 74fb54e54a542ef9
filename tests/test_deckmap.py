"""The instructors' deck map (tools/deckmap.py): every deck item is treated or says why not, and the
pages in decks/ are what the notebooks' metadata makes them."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import deckmap  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return deckmap.load_decks(), deckmap.read_lessons()


def test_every_deck_item_is_treated_by_a_lesson_or_says_why_not(data):
    decks, lessons = data
    assert deckmap.problems(decks, lessons) == []


def test_the_pages_in_decks_are_up_to_date():
    stale = [str(path.relative_to(ROOT)) for path, text in deckmap.pages().items()
             if not path.exists() or path.read_text() != text]
    assert stale == [], f"run `python tools/deckmap.py` and commit: {stale}"


def test_a_slide_id_no_deck_has_and_a_half_erratum_are_problems(data):
    decks, lessons = data
    lesson = next(iter(lessons))
    notebook = lessons[lesson].copy()
    notebook.cells = [cell.copy() for cell in notebook.cells]
    cell = notebook.cells[-1]
    cell.metadata = {**cell.metadata, "nnlab": {"slides": ["009:1"], "errata": [{"item": "004:80", "kind": "error"}]}}
    found = deckmap.problems(decks, {**lessons, lesson: notebook})
    assert f"{lesson} cell {len(notebook.cells) - 1}: nnlab.slides names '009:1', which no deck has" in found
    assert f"{lesson} cell {len(notebook.cells) - 1}: erratum lacks says, right" in found


def test_every_deck_item_has_an_id_of_its_deck_and_a_topic(data):
    decks, _ = data
    for name, deck in decks.items():
        ids = [item["id"] for item in deck["items"]]
        assert len(ids) == len(set(ids)), f"decks/{name}.yml repeats an id"
        assert all(i.startswith(f"{name}:") and item.get("topic") for i, item in zip(ids, deck["items"])), name


def test_the_index_names_the_lessons_beyond_the_decks():
    index = deckmap.pages()[deckmap.DECKS / "README.md"]
    assert "Beyond the decks" in index and "[16_attention]" in index, index[-400:]
