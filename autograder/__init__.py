"""The instructor side of the course: collecting, grading and exporting submissions, on top of nbgrader.

Every byte a student controls is untrusted input, to the grader and to the instructor's screen. A
submission goes through these layers, in this order; each layer is one module, and each defence
belongs to exactly one of them:

    collect.py, lms.py   folder or LMS zip -> submitted/<student>/<lesson>/   (names, zips, sizes)
    submission.py        the student's folder: which file is the notebook, the timestamp   (never follows a link)
    intake.py            bytes -> notebook, or a refusal                (size, depth, cell count, JSON, nbformat)
    restore.py           the instructor's tests and metadata back in, the student's answers kept
    sandbox.py           the kernel's command line: bubblewrap, tmpfs, rlimits, an unprivileged user
    bounds.py            the whole sandbox measured from outside: memory of the tree, processes, files
    execute.py           runs the notebook without its test cells; produces an ``Execution`` (outputs, replies, ``Stop``)
    judge/               the test cells, hidden parts included, run outside the kernel against its state (issue 14)
    verdict.py           ``Execution`` -> the notebook nbgrader records, and the ``Problem``s to report
    sanitise.py          nothing the student wrote runs in the formgrader or the feedback (nh3)
    gradebook.py         the single gradebook writer: nbgrader's autograde (not executing) and feedback
    pipeline.py          the run: parallel, resumable, one student's failure is that student's alone
    summary.py, export.py  what the instructor reads and uploads

Shared by all: ``cells.py`` (nbgrader's cell predicates, safe on any metadata), ``outcomes.py``
(the ``Reason`` enum, ``Problem`` and ``Stop``), ``limits.py`` (every bound and its default),
``paths.py`` (the course folder, the gradebook URL, the instructor's log), ``errors.py``
(``GraderError``, the one error type, caught once in ``__main__``).

Where a new defence goes: against a file or its name, ``submission`` or ``collect``; against bytes
that are not a sound notebook, ``intake`` (raise ``intake.Refused`` with a ``Reason``); against
grading claims in the notebook, ``restore``; against what student code does while it runs,
``sandbox`` (walls) or ``bounds`` (budgets, returning a ``Stop``); against what its outputs claim,
``verdict``; against what its functions hand a test, ``judge.codec`` (plain data only, bounded);
against what reaches a browser, ``sanitise``. A new kind of failure gets a ``Reason``.
Anything a layer cannot handle for one student is caught in ``pipeline`` and becomes that student's
``grader-error``, with the traceback in the instructor's log.
"""
