import numpy as np
import pytest
import torch

from nnlab import check


def message_of(function, *args, **kwargs) -> str:
    with pytest.raises(check.CheckFailure) as info:
        function(*args, **kwargs)
    assert isinstance(info.value, AssertionError)  # nbgrader counts it as a failed test
    return str(info.value)


def test_close_accepts_values_within_tolerance_and_torch_tensors():
    check.close("f", [1.0, 2.0 + 1e-9], [1.0, 2.0])
    check.close("f", torch.tensor([0.5, 1.5]), np.array([0.5, 1.5]))
    check.close("f", 3, 3.0)
    check.close("f", [np.nan, np.inf], [np.nan, np.inf])


def test_close_failure_names_the_worst_element_and_the_hint():
    text = message_of(check.close, "net_input(X, w, T)", [1.0, 2.0, 3.5, 4.1], [1.0, 2.0, 3.0, 4.0],
                      hint="subtract T")
    assert text.startswith("net_input(X, w, T): values are not right")
    assert "2 of 4 values differ" in text
    assert "worst at index (2,): expected 3.0, got 3.5" in text
    assert "hint: subtract T" in text


def test_close_reports_a_shape_mismatch_with_both_shapes():
    text = message_of(check.close, "f", np.ones((4, 1)), np.ones(4))
    assert "wrong shape" in text and "shape (4,)" in text and "shape (4, 1)" in text


def test_close_does_not_broadcast_a_scalar_against_an_array():
    assert "wrong shape" in message_of(check.close, "f", 1.0, [1.0, 1.0])


def test_close_catches_a_nan_where_a_number_was_expected():
    text = message_of(check.close, "f", [1.0, np.nan], [1.0, 2.0])
    assert "worst at index (1,)" in text


def test_scalar_failure_shows_both_values():
    text = message_of(check.close, "loss", 0.25, 0.5)
    assert "expected: 0.5" in text and "got:      0.25" in text


def test_none_is_reported_as_a_missing_return():
    assert "missing" in message_of(check.close, "f", None, 1.0)


def test_an_object_whose_eq_always_says_true_does_not_pass():
    class Liar:
        def __eq__(self, other):
            return True

    assert "expected numbers, got Liar" in message_of(check.equal, "predict", Liar(), [0, 1])
    assert "expected numbers" in message_of(check.close, "f", Liar(), 1.0)


def test_an_object_that_breaks_on_conversion_is_reported_not_raised():
    class Broken:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("boom")

    assert "could not read the result as numbers (RuntimeError: boom)" in message_of(check.close, "f", Broken(), 1.0)


def test_equal_is_exact_and_shows_the_first_difference_and_dtypes():
    check.equal("labels", np.array([0, 1, 1]), [0, 1, 1])
    check.equal("labels", [0.0, 1.0], [0, 1])  # values count, not dtype
    text = message_of(check.equal, "labels", np.array([0.0, 0.0, 1.0]), np.array([0, 1, 1]))
    assert "1 of 3 values differ; first at index (1,): expected 1, got 0.0" in text
    assert "dtypes: expected int64, got float64" in text


def test_shape_checks_only_the_shape():
    check.shape("w", np.zeros((3, 2)), (3, 2))
    assert "expected: shape (2, 3)" in message_of(check.shape, "w", np.zeros((3, 2)), (2, 3))


def test_true_needs_a_real_boolean_and_reports_the_message():
    check.true("converged", np.bool_(True), "did not converge")
    assert "did not converge" in message_of(check.true, "converged", False, "did not converge", hint="more epochs")
    with pytest.raises(TypeError):
        check.true("converged", np.array([True, True]), "an array is not a verdict")


def test_raises_passes_only_for_the_expected_exception():
    def refuse(x):
        raise ValueError("bad shape")

    check.raises("refuse", ValueError, refuse, 1)
    assert "expected ValueError, but nothing was raised" in message_of(check.raises, "f", ValueError, lambda: None)
    assert "expected ValueError, got KeyError" in message_of(
        check.raises, "f", ValueError, lambda: {}["missing"])


def test_importing_check_turns_warnings_into_notes_on_stdout_not_stderr():
    """nbgrader scores a test cell 0 when it writes to stderr: a warning must not cost a correct answer."""
    import subprocess
    import sys

    code = ("from nnlab import check\n"
            "import warnings, numpy as np\n"
            "np.exp(np.array([1000.0]))\n"
            "warnings.warn('the caller should know', UserWarning)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr == "", run.stderr
    assert "note: RuntimeWarning: overflow encountered in exp" in run.stdout
    assert "note: UserWarning: the caller should know" in run.stdout


def test_in_kernel_marks_a_fixture_and_changes_nothing_else():
    @check.in_kernel
    def twice(f, x):
        return 2 * f(x)

    assert twice(abs, -3) == 6 and twice.__nnlab_in_kernel__ is True
