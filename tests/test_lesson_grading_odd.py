"""The other half of the lessons for ``test_lesson_grading.py`` (same tests, lessons 01, 03, 05…).

A module of its own so that pytest-xdist (``--dist loadfile``) gives it to the other worker.
"""

from __future__ import annotations

import pytest

from conftest import LESSON_IDS
from support import lesson_grading as lg
from test_lesson_grading import (needs_bwrap, test_correct_alternatives_that_warn_score_full_marks_under_both_graders,
                                 test_each_planted_mistake_loses_exactly_the_test_cells_it_names,
                                 test_every_test_cell_follows_the_judges_contract,
                                 test_every_cell_of_the_solution_runs_and_no_test_cell_writes_to_stderr,
                                 test_nbgrader_validate_fails_every_graded_cell_of_the_release,
                                 test_nbgrader_validate_passes_the_solution, test_the_lesson_has_planted_answers,
                                 test_the_release_stub_scores_nothing_under_both_graders,
                                 test_the_solution_scores_full_marks_under_both_graders)

LESSONS = LESSON_IDS[1::2]


@pytest.fixture(scope="module", params=LESSONS)
def graded(request, tmp_path_factory) -> lg.LessonClass:
    needs_bwrap()
    return lg.build(request.param, tmp_path_factory.mktemp(request.param))


__all__ = ["test_correct_alternatives_that_warn_score_full_marks_under_both_graders",
           "test_each_planted_mistake_loses_exactly_the_test_cells_it_names",
           "test_every_test_cell_follows_the_judges_contract",
           "test_every_cell_of_the_solution_runs_and_no_test_cell_writes_to_stderr",
           "test_nbgrader_validate_fails_every_graded_cell_of_the_release",
           "test_nbgrader_validate_passes_the_solution", "test_the_lesson_has_planted_answers",
           "test_the_release_stub_scores_nothing_under_both_graders",
           "test_the_solution_scores_full_marks_under_both_graders"]
