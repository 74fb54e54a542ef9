import nbformat
import pytest

from support.submissions import answer_ids, fill_answers, model_answers
from conftest import release_path, solution_path


def test_model_answers_are_the_solutions_without_markers(lesson):
    solution = nbformat.read(solution_path(lesson), as_version=4)
    answers = model_answers(solution)
    assert list(answers) == answer_ids(solution) and answers
    for text in answers.values():
        assert "### BEGIN SOLUTION" not in text and "### END SOLUTION" not in text


def test_fill_answers_rewrites_only_the_named_cells_and_leaves_the_release_alone(lesson):
    release = nbformat.read(release_path(lesson), as_version=4)
    first = answer_ids(release)[0]
    filled = fill_answers(release, {first: "answer = 42"})
    changed = [i for i, (a, b) in enumerate(zip(release.cells, filled.cells)) if a.source != b.source]
    assert len(changed) == 1 and filled.cells[changed[0]].source == "answer = 42"
    assert "answer = 42" not in nbformat.writes(release)


def test_fill_answers_refuses_an_unknown_cell(lesson):
    release = nbformat.read(release_path(lesson), as_version=4)
    with pytest.raises(KeyError, match="not answer cells"):
        fill_answers(release, {"no_such_cell": "x"})
