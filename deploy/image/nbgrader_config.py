"""nbgrader in every user's server on the hub: the course's exchange (a shared volume) and its id.

Copied to /etc/jupyter/nbgrader_config.py by deploy/Dockerfile. The instructor's own grading runs
from the repository's nbgrader_config.py (its folders and gradebook), not from this file.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = os.environ.get("NNLAB_COURSE_ID", "nnlab")
c.Exchange.root = os.environ.get("NNLAB_EXCHANGE_DIR", "/srv/nbgrader/exchange")
