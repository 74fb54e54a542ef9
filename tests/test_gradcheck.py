import numpy as np
import pytest
import torch

from nnlab import gradcheck


def test_numerical_gradient_matches_torch_autograd_on_a_nonlinear_function():
    rng = np.random.default_rng(0)
    A, x = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))

    def f(v):
        return float(np.sum(np.tanh(A @ v) ** 2))

    xt = torch.tensor(x, requires_grad=True)
    torch.sum(torch.tanh(torch.tensor(A) @ xt) ** 2).backward()
    numeric = gradcheck.numerical_gradient(f, x)
    assert numeric.shape == x.shape
    assert gradcheck.relative_error(numeric, xt.grad.numpy()) < 1e-7


def test_numerical_gradient_leaves_its_input_unchanged():
    x = np.array([1.0, 2.0, 3.0])
    gradcheck.numerical_gradient(lambda v: float(v @ v), x)
    assert np.array_equal(x, [1.0, 2.0, 3.0])


def test_numerical_gradient_refuses_non_scalar_functions_and_bad_steps():
    with pytest.raises(ValueError, match="must return a scalar"):
        gradcheck.numerical_gradient(lambda v: v * 2, np.ones(2))
    with pytest.raises(ValueError, match="eps must be positive"):
        gradcheck.numerical_gradient(lambda v: float(v.sum()), np.ones(2), eps=0)


def test_relative_error_is_zero_for_equal_arrays_and_scale_free():
    a = np.array([1.0, -2.0, 3.0])
    assert gradcheck.relative_error(a, a) == 0.0
    assert gradcheck.relative_error(a, 1.01 * a) == pytest.approx(gradcheck.relative_error(1e-6 * a, 1.01e-6 * a))
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match=r"one shape, got \(3,\) and \(2,\)"):
        gradcheck.relative_error(a, a[:2])


def test_check_gradient_passes_a_right_gradient_and_names_the_worst_entry_of_a_wrong_one():
    x = np.array([0.5, -1.0, 2.0])
    f = lambda v: float(np.sum(v ** 3))  # noqa: E731
    assert gradcheck.check_gradient(f, x, 3 * x ** 2) < 1e-8
    wrong = 3 * x ** 2
    wrong[2] += 1.0
    with pytest.raises(AssertionError, match=r"worst at index \(2,\)"):
        gradcheck.check_gradient(f, x, wrong)
    with pytest.raises(ValueError, match=r"shape of x, \(3,\)"):
        gradcheck.check_gradient(f, x, np.ones(2))
