"""Comparisons for the self-check and autograder cells.

Each function returns quietly when the check holds, and otherwise raises ``CheckFailure`` (an
``AssertionError``, so nbgrader counts it as a failed test) with a message a learner can act on:
what was checked, what was expected, what came back, where the worst difference is, and a hint.

    >>> from nnlab import check
    >>> check.close("net_input(X, w, T)", got, [0.5, -1.0], hint="subtract T from X @ w")

Values are read with ``np.asarray`` (torch tensors are moved to the CPU first), so an object that
is not a number, such as one whose ``__eq__`` always says True, is reported, never trusted.

Importing this module also turns every later warning into a one-line note on standard output
(``warnings_as_notes``): nbgrader scores 0 for any test cell that writes to stderr, so a correct
answer that lets numpy or torch warn would otherwise lose its points.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .backend import to_numpy


def _show_as_note(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"note: {category.__name__}: {message}", file=sys.stdout, flush=True)


def warnings_as_notes() -> None:
    """Show warnings as ``note: <Category>: <message>`` lines on stdout instead of on stderr.

    A warning is information for the learner, never a failure: on stdout it stays visible in the
    notebook and in nbgrader's feedback, and it no longer makes nbgrader score the cell 0.
    Warnings recorded by ``warnings.catch_warnings(record=True)`` (pytest's) are unaffected.
    """
    warnings.showwarning = _show_as_note


warnings_as_notes()


class CheckFailure(AssertionError):
    """A self-check that did not hold; the message says what and why."""


def _fail(name: str, problem: str, details: list[str], hint: str | None) -> None:
    lines = [f"{name}: {problem}"] + [f"  {line}" for line in details]
    if hint:
        lines.append(f"  hint: {hint}")
    raise CheckFailure("\n".join(lines))


def _describe(values: np.ndarray) -> str:
    if values.ndim == 0:
        return f"{values.item()!r} ({values.dtype})"
    return f"array of shape {values.shape}, dtype {values.dtype}"


def _show(values: np.ndarray) -> str:
    return np.array2string(values, precision=6, threshold=24, edgeitems=4, separator=", ")


def _as_numbers(name: str, got, hint: str | None) -> np.ndarray:
    """``got`` as a numeric array, or a failure saying what it was instead."""
    if got is None:
        _fail(name, "got None", ["the function returned nothing: is a `return` missing?"], hint)
    try:
        values = np.asarray(to_numpy(got))
    except Exception as error:  # a hostile or broken object: report it, never crash the check
        values, reason = None, f"{type(error).__name__}: {error}"
    if values is None:
        _fail(name, f"could not read the result as numbers ({reason})", [], hint)
    if values.dtype.kind not in "biuf":
        _fail(name, f"expected numbers, got {type(got).__name__} with dtype {values.dtype}", [], hint)
    return values


def _same_shape(name: str, got: np.ndarray, expected: np.ndarray, hint: str | None) -> None:
    if got.shape != expected.shape:
        _fail(
            name,
            "wrong shape",
            [f"expected: {_describe(expected)}", f"got:      {_describe(got)}"],
            hint,
        )


def shape(name: str, got, expected_shape: tuple[int, ...], *, hint: str | None = None) -> None:
    """Check that ``got`` has exactly ``expected_shape``."""
    values = _as_numbers(name, got, hint)
    expected_shape = tuple(expected_shape)
    if values.shape != expected_shape:
        _fail(
            name,
            "wrong shape",
            [f"expected: shape {expected_shape}", f"got:      {_describe(values)}"],
            hint,
        )


def close(name: str, got, expected, *, rtol: float = 1e-6, atol: float = 1e-9,
          hint: str | None = None) -> None:
    """Check that ``got`` equals ``expected`` elementwise within ``atol + rtol * |expected|``.

    Shapes must match exactly (no broadcasting), and a NaN or infinity matches only the same
    value in ``expected``. On failure the message names the worst element by its index.
    """
    expected = np.asarray(to_numpy(expected), dtype=float)
    values = _as_numbers(name, got, hint)
    _same_shape(name, values, expected, hint)
    values = values.astype(float)
    with np.errstate(invalid="ignore"):
        both_equal = (values == expected) | (np.isnan(values) & np.isnan(expected))
        excess = np.abs(values - expected) - (atol + rtol * np.abs(expected))
    excess = np.where(both_equal, -np.inf, np.nan_to_num(excess, nan=np.inf))
    wrong = excess > 0
    if not wrong.any():
        return
    details = []
    if values.ndim == 0:
        details += [f"expected: {expected.item()!r}", f"got:      {values.item()!r}"]
    else:
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        diff = abs(values[worst] - expected[worst])
        details += [
            f"{int(wrong.sum())} of {wrong.size} values differ beyond rtol={rtol:g}, atol={atol:g}",
            f"worst at index {tuple(int(i) for i in worst)}: expected {expected[worst].item()!r}, "
            f"got {values[worst].item()!r} (difference {diff:.3g})",
            f"expected: {_show(expected)}",
            f"got:      {_show(values)}",
        ]
    _fail(name, "values are not right", details, hint)


def equal(name: str, got, expected, *, hint: str | None = None) -> None:
    """Check that ``got`` equals ``expected`` exactly: same shape, same values.

    For integer, boolean and label arrays; use ``close`` for computed floats. The dtype need not
    match (``[0, 1]`` equals ``[0.0, 1.0]``), but it is shown when values differ.
    """
    expected = np.asarray(to_numpy(expected))
    values = _as_numbers(name, got, hint)
    _same_shape(name, values, expected, hint)
    wrong = values != expected
    if not np.any(wrong):
        return
    if values.ndim == 0:
        details = [f"expected: {expected.item()!r}", f"got:      {values.item()!r}"]
    else:
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        details = [
            f"{int(np.sum(wrong))} of {wrong.size} values differ; first at index {first}: "
            f"expected {expected[first].item()!r}, got {values[first].item()!r}",
            f"expected: {_show(expected)}",
            f"got:      {_show(values)}",
        ]
    if values.dtype != expected.dtype:
        details.append(f"(dtypes: expected {expected.dtype}, got {values.dtype})")
    _fail(name, "values are not right", details, hint)


def true(name: str, condition, message: str, *, hint: str | None = None) -> None:
    """Check a property (``condition`` must be a real boolean; ``message`` says what failed)."""
    if not isinstance(condition, (bool, np.bool_)):
        raise TypeError(f"check.true needs a bool for {name!r}, got {type(condition).__name__}")
    if not condition:
        _fail(name, message, [], hint)


def raises(name: str, exception: type[BaseException], function, *args,
           hint: str | None = None, **kwargs) -> None:
    """Check that ``function(*args, **kwargs)`` raises ``exception`` (bad input must be refused)."""
    try:
        function(*args, **kwargs)
    except exception:
        return
    except Exception as error:
        _fail(name, f"expected {exception.__name__}, got {type(error).__name__}: {error}", [], hint)
    _fail(name, f"expected {exception.__name__}, but nothing was raised", [], hint)


def in_kernel(function):
    """Mark a fixture function that must run where the student's objects live (CONTRIBUTING.md).

    Use it for the few tests that need a live object: a torch module built from the student's class,
    autograd through the student's torch code. In a learner's kernel, and under plain nbgrader, it
    changes nothing. In a classroom grade the judge calls the kernel's copy of ``function`` (student
    names passed by reference) and gets back plain data, so the test's comparisons stay in the judge.
    """
    function.__nnlab_in_kernel__ = True
    return function


def close_or_slip(name: str, got, expected, slips: dict, *, rtol: float = 1e-6, atol: float = 1e-9,
                  hint: str | None = None) -> None:
    """``close``, and when ``got`` is wrong in a way a learner often is, say which way.

    ``slips`` maps a description of a classic mistake ("exactly 1/N of the expected: you averaged
    where the sum is asked") to the value that mistake produces (``expected / N``), of any shape. When
    ``got`` fails ``close`` but equals one of those values within the same tolerances (a value that
    itself differs from ``expected``), the failure message opens with that description; otherwise it
    is ``close``'s. Slip values that cannot be computed or compared are skipped, never an error.
    """
    try:
        close(name, got, expected, rtol=rtol, atol=atol, hint=hint)
        return
    except CheckFailure as failure:
        message = str(failure)
    expected_values = np.asarray(to_numpy(expected), dtype=float)
    try:
        values = np.asarray(to_numpy(got), dtype=float)
    except Exception:  # not numbers at all: close's message already says so
        raise CheckFailure(message) from None
    for description, slip in slips.items():
        try:
            slip_values = np.asarray(to_numpy(slip), dtype=float)
            matches = slip_values.shape == values.shape and bool(
                np.allclose(values, slip_values, rtol=rtol, atol=atol, equal_nan=True))
            distinct = slip_values.shape != expected_values.shape or not bool(
                np.allclose(slip_values, expected_values, rtol=rtol, atol=atol, equal_nan=True))
        except Exception:
            continue
        if matches and distinct:
            details = message.splitlines()[1:]
            raise CheckFailure("\n".join([f"{name}: {description}"] + details)) from None
    raise CheckFailure(message) from None


def trajectory(name: str, got, expected, *, rtol: float = 1e-6, atol: float = 1e-9, step: str = "step",
               hint: str | None = None) -> None:
    """Check a sequence of values step by step, and report the first step where the two part.

    ``got`` and ``expected`` are sequences with one entry per step (numbers, or arrays of one shape per
    step), such as the loss after every update of a training loop. The failure names the first step
    (counted from 1) whose entry differs beyond ``atol + rtol * |expected|``, with both values there and
    how many steps agreed before it; or, when every common step agrees, the difference in length.
    """
    if got is None:
        _fail(name, "got None", ["the function returned nothing: is a `return` missing?"], hint)
    try:
        got_steps = [np.asarray(to_numpy(entry), dtype=float) for entry in got]
    except Exception as error:
        _fail(name, f"could not read the result as a sequence of numbers ({type(error).__name__}: {error})", [],
              hint)
    expected_steps = [np.asarray(to_numpy(entry), dtype=float) for entry in expected]
    steps = step + ("es" if step.endswith(("s", "x", "ch", "sh")) else "s")
    for index, (value, target) in enumerate(zip(got_steps, expected_steps)):
        with np.errstate(invalid="ignore"):
            same = value.shape == target.shape and bool(np.all(
                (value == target) | (np.abs(value - target) <= atol + rtol * np.abs(target))
                | (np.isnan(value) & np.isnan(target))))
        if not same:
            agreed = (f"already at the first {step}" if index == 0 else f"the first {step} agrees" if index == 1
                      else f"the first {index} {steps} agree")
            details = [f"{agreed}; at {step} {index + 1}:",
                       f"expected: {_show(target) if target.ndim else repr(target.item())}",
                       f"got:      {_show(value) if value.ndim else repr(value.item())}"]
            _fail(name, f"the trajectories part at {step} {index + 1} of {len(expected_steps)}", details, hint)
    if len(got_steps) != len(expected_steps):
        _fail(name, f"expected {len(expected_steps)} {steps}, got {len(got_steps)}",
              [f"the {min(len(got_steps), len(expected_steps))} {steps} in common agree"], hint)
