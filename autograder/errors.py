"""The one error type of the grading pipeline.

Library code raises ``GraderError`` (or a subclass) with a message an instructor can act on; only
``__main__`` catches it, prints the message and exits with status 2. Nothing in ``autograder/``
raises ``SystemExit`` or a bare ``RuntimeError`` for a condition it can name.
"""


class GraderError(Exception):
    """The pipeline cannot go on (a missing tool, an unknown lesson, a bad LMS download…)."""
