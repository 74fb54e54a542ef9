"""nnlab additions for lesson 03 (activation functions): plots.function_and_derivative."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnlab import plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _lines(ax):
    """The curves drawn (not the axis lines at 0, which have two points each)."""
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 2]


def test_function_and_derivative_draws_both_curves_with_their_values(tmp_path):
    z = np.linspace(-3, 3, 61)
    ax = plots.function_and_derivative(np.tanh, lambda v: 1 - np.tanh(v) ** 2, z=z, title="tanh")
    function, derivative = _lines(ax)
    np.testing.assert_allclose(function.get_xdata(), z)
    np.testing.assert_allclose(function.get_ydata(), np.tanh(z))
    np.testing.assert_allclose(derivative.get_ydata(), 1 - np.tanh(z) ** 2)
    assert derivative.get_linestyle() == "--" and ax.get_title() == "tanh"
    assert ax.get_xlim() == (-3, 3)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [r"$\varphi(z)$", r"$\varphi'(z)$"]
    ax.figure.savefig(tmp_path / "tanh.png")
    assert (tmp_path / "tanh.png").stat().st_size > 1000


def test_without_a_derivative_only_the_function_is_drawn_on_the_default_grid():
    ax = plots.function_and_derivative(np.sin, label="sin")
    (line,) = _lines(ax)
    assert len(line.get_xdata()) == 1001 and line.get_xdata()[0] == -5 and line.get_xdata()[-1] == 5


def test_a_break_cuts_both_curves_and_marks_the_value_at_the_break():
    z = np.linspace(-1, 1, 5)  # -1, -0.5, 0, 0.5, 1: the break at 0 is a grid point
    ax = plots.function_and_derivative(lambda v: np.heaviside(v, 0.5), lambda v: np.zeros_like(v), z=z, breaks=[0.0, 7.0])
    function, derivative = _lines(ax)
    x, y = function.get_xdata(), function.get_ydata()
    assert np.isnan(x[2]) and np.isnan(y[2]), "the curve must be cut at the break"
    np.testing.assert_array_equal(x[[0, 1, 3, 4]], [-1, -0.5, 0.5, 1])
    np.testing.assert_array_equal(y[[0, 1, 3, 4]], [0, 0, 1, 1])  # no point at 0 on the line itself
    assert np.isnan(derivative.get_xdata()[2])
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [float(d.get_ydata()[0]) for d in dots] == [0.5, 0.0]  # the ½ of the unit step, and the derivative there
    assert all(len(d.get_xdata()) == 1 for d in dots), "a break outside the grid (7) draws nothing"


def test_a_break_between_grid_points_still_cuts_the_line():
    z = np.array([-1.0, -0.5, 0.5, 1.0])
    ax = plots.function_and_derivative(np.sign, z=z, breaks=[0.0])
    (line,) = _lines(ax)
    np.testing.assert_array_equal(np.isnan(line.get_ydata()), [False, False, True, False, False])


def test_function_and_derivative_names_the_shapes_it_expects():
    with pytest.raises(ValueError, match=r"z must have shape \(m,\) with m >= 2 increasing values, got shape \(2, 2\)"):
        plots.function_and_derivative(np.tanh, z=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="increasing"):
        plots.function_and_derivative(np.tanh, z=[1.0, 0.0])
    with pytest.raises(ValueError, match=r"must map z of shape \(3,\) to values of shape \(3,\).*got \(\)"):
        plots.function_and_derivative(np.sum, z=[0.0, 1.0, 2.0], label="sum")
    with pytest.raises(ValueError, match=r"derivative.*got \(3, 3\)"):
        plots.function_and_derivative(np.tanh, lambda v: np.diag(v), z=[0.0, 1.0, 2.0], derivative_label="derivative")
    with pytest.raises(ValueError, match="breaks must be finite"):
        plots.function_and_derivative(np.tanh, breaks=[np.nan])


def test_the_callables_never_see_the_caller_grid_change():
    z = np.linspace(-1, 1, 11)
    original = z.copy()

    def in_place(v):
        v *= 2
        return v

    plots.function_and_derivative(in_place, z=z)
    np.testing.assert_array_equal(z, original)
