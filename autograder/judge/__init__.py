"""The judge: the verdict outside the student's process (issue 14; DESIGN.md, "Grading").

In a classroom grade the student's notebook runs in its sandboxed kernel, which only ever produces
data. The instructor's test cells (visible and hidden parts) never enter that kernel: they run here,
in a judge process of their own per student, which never imports or executes student code. In the
judge, every name the student's notebook defines is a proxy: calling it runs the student's function
in the kernel and brings the result back as plain data. Expected values, oracles and comparisons are
computed here, where nothing the student's code does (patching modules, trace hooks, input
transformers, threads, reading the running cell) can reach.

Where things are:

- ``codec``: plain data across the wall (numbers, strings, lists, tuples, dicts, numpy arrays in
  ``.npy`` format read without pickle, torch tensors), everything else refused by name, every size
  and depth bounded. Runs on both sides.
- ``wire``: framed messages over a Unix socket, bounded and under a deadline. Both sides.
- ``agent``: the kernel side (untrusted by design: what it sends is only data to the judge).
- ``session``: the judge side of one connection: proxies, calls, callbacks into the test's own
  functions, arguments changed in place copied back, warnings as notes, a lost kernel.
- ``runner``: the judge itself: fixture cells once, then each test cell into a verdict.
- ``process``: one judge process per student (forked from a preloaded server), the pipeline's handle.
- ``kernel``: the text sent into the kernel (the agent) and the line that serves at a test cell.
- ``notebook``: executing a notebook with its test cells judged (``execute_judged``), and a plain
  local driver (``run_notebook``) for tests and for checking a lesson.

A new kind of value that must cross goes into ``codec`` (both directions, with a round-trip test and
a crafted-message test in ``tests/test_judge_codec.py``); a new request between judge and kernel
goes into ``agent`` and ``session`` together (``tests/test_judge_session.py``).

The channel: a Unix socket in the student's scratch folder, served by the agent from the kernel's
main thread at each test cell (so student functions run exactly where they would in a notebook).
A round trip costs a fraction of a millisecond, against 10-15 ms for a Jupyter execute request
(``benchmarks/judge_channel.py``), so the hundreds of calls of a trajectory test stay cheap.
"""
