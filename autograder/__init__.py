"""The instructor side of the course: building, collecting and grading submissions with nbgrader."""
