"""Imported first by the judges' server (``process.PRELOAD``): matplotlib draws off-screen there.

It runs in the server alone, never in the pipeline's process: a backend set in the pipeline's own
environment would reach every process it starts after, a learner's JupyterLab in the tests among
them, whose kernels would then draw nothing.
"""

import os

os.environ["MPLBACKEND"] = "agg"  # for pyplot, imported next, and any process a fixture starts

import matplotlib  # noqa: E402

matplotlib.use("agg")
