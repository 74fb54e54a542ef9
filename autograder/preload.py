"""What the lessons import, loaded once per run rather than once per student.

The kernels' zygote (``warm``) and the judges' server (``judge.process``) each import these before
the first student, and every kernel or judge forked from them starts with them loaded. The list
follows the lessons' import cells (their fixture cells): a module missing here is imported again
by every student's kernel and judge, which costs time, not correctness.
"""

LESSON_IMPORTS = ("numpy", "torch", "matplotlib", "matplotlib.pyplot", "tqdm.auto", "sklearn", "ipywidgets",
                  "nnlab", "nnlab.backend", "nnlab.check", "nnlab.datasets", "nnlab.gradcheck", "nnlab.plots",
                  "nnlab.train", "nnlab.widgets")
