"""Units of the nnlab helpers added for lesson 13 (RNN): the bundled Shakespeare text and the
character encoder ``char_ids``."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

import nnlab
from nnlab import datasets

ROOT = Path(__file__).resolve().parents[1]


def test_shakespeare_is_the_shipped_file_small_ascii_and_stable():
    text = datasets.shakespeare()
    assert isinstance(text, str) and len(text) == 99_843
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert text.endswith("\n") and all(ord(char) < 128 for char in text)
    assert len(set(text)) == 61
    shipped = Path(nnlab.__file__).parent / "data" / datasets.SHAKESPEARE_FILE
    assert shipped.stat().st_size < 1_000_000, "package data must stay small"
    assert hashlib.sha256(text.encode("ascii")).hexdigest() == (
        "b4a657aedf64a7c4dbb5201c11d9c2443df0145061c8df8c386b30266dc1f389")


def test_the_text_is_package_data_and_listed_in_assets_readme():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'nnlab = ["data/*"]' in pyproject, "src/nnlab/data/ must be installed with the package"
    assert datasets.SHAKESPEARE_FILE in (ROOT / "assets" / "README.md").read_text(), \
        "assets/README.md must list the text with its source and licence"


def test_char_ids_round_trips_with_the_sorted_vocabulary():
    text = datasets.shakespeare()
    ids, vocabulary = datasets.char_ids(text)
    assert ids.shape == (len(text),) and ids.dtype == np.int64
    assert vocabulary == "".join(sorted(set(text)))
    assert ids.min() == 0 and ids.max() == len(vocabulary) - 1
    assert "".join(vocabulary[i] for i in ids[:500]) == text[:500]
    assert np.array_equal(np.array([vocabulary[i] for i in ids]), np.array(list(text)))


def test_char_ids_with_a_given_vocabulary_keeps_its_order():
    ids, vocabulary = datasets.char_ids("abba", vocabulary="ba")
    assert vocabulary == "ba" and ids.tolist() == [1, 0, 0, 1]
    ids, vocabulary = datasets.char_ids("", vocabulary="xy")
    assert ids.shape == (0,) and ids.dtype == np.int64
    train, val = datasets.char_ids("hello"), datasets.char_ids("hole", vocabulary=datasets.char_ids("hello")[1])
    assert train[1] == val[1] == "ehlo" and val[0].tolist() == [1, 3, 2, 0]


@pytest.mark.parametrize("text, vocabulary, words", [
    (b"bytes", None, "must be a str"),
    ("abc", "aab", "every character once"),
    ("abc", ["a", "b", "c"], "every character once"),
    ("abcz", "abc", "'z'"),
])
def test_char_ids_refuses_bad_input_with_a_clear_message(text, vocabulary, words):
    with pytest.raises(ValueError, match=words):
        datasets.char_ids(text, vocabulary)
