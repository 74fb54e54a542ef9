"""Test support for the grading tests: building submissions, and grading one lesson's class end to end.

Not part of the grader (``autograder/``): nothing here runs in a classroom.
"""
