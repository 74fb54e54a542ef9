"""nnlab helpers added for lesson 06 (gradient descent): contours of a 2-D function with optimizer paths."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.contour import ContourSet

from nnlab import plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def bowl(P):
    """An elongated quadratic bowl with its minimum at (1, -2); P has shape (m, 2)."""
    return 0.5 * (P[:, 0] - 1) ** 2 + 5 * (P[:, 1] + 2) ** 2


def contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def test_each_named_path_is_drawn_through_all_its_iterates_with_a_legend_entry(tmp_path):
    gd = np.array([[-2.0, 1.0], [-1.0, -1.0], [0.0, -1.8], [1.0, -2.0]])
    sgd = np.array([[-2.0, 1.0], [-0.5, 0.0], [0.8, -2.2]])
    ax = plots.contour_paths(bowl, {"GD": gd, "SGD": sgd}, minimum=[1, -2], title="race")
    lines = {line.get_label(): line for line in ax.lines}
    assert np.array_equal(lines["GD"].get_xydata(), gd) and np.array_equal(lines["SGD"].get_xydata(), sgd)
    assert lines["GD"].get_color() != lines["SGD"].get_color()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["GD", "SGD", "minimum"] and ax.get_title() == "race"
    assert len(contour_sets(ax)) == 2  # filled and lines
    ax.figure.savefig(tmp_path / "race.png")
    assert (tmp_path / "race.png").stat().st_size > 5000


def test_the_view_fits_the_paths_unless_limits_are_given():
    path = np.array([[0.0, 0.0], [2.0, -4.0]])
    ax = plots.contour_paths(bowl, path)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < 0 < 2 < x1 and y0 < -4 < 0 < y1
    assert ax.get_legend() is None  # a single unnamed path needs no legend
    ax = plots.contour_paths(bowl, path, xlim=(-1, 1), ylim=(-3, 3), ax=plt.figure().gca())
    assert ax.get_xlim() == (-1, 1) and ax.get_ylim() == (-3, 3)


def test_a_diverging_path_is_skipped_where_infinite_and_clipped_by_a_given_window():
    diverging = np.array([[0.0, 0.0], [3.0, -5.0], [np.inf, -np.inf], [np.nan, np.nan]])
    ax = plots.contour_paths(bowl, {"too large": diverging, "fine": [[0.0, 0.0], [1.0, -2.0]]})
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < 0 and 3 < x1 < 5 and -7 < y0 < -5 and 0 < y1  # fitted to the finite iterates only
    huge = np.array([[0.0, 0.0], [3.0, -5.0], [-1e150, 1e150]])
    ax = plots.contour_paths(bowl, {"too large": huge}, xlim=(-4, 4), ylim=(-6, 2), ax=plt.figure().gca())
    assert ax.get_xlim() == (-4, 4) and ax.get_ylim() == (-6, 2)


def test_levels_are_a_count_the_levels_themselves_or_log_spaced_above_the_floor():
    window = dict(xlim=(-3, 5), ylim=(-6, 2))
    linear = contour_sets(plots.contour_paths(bowl, levels=7, filled=False, **window))[0].levels
    assert np.allclose(np.diff(linear), np.diff(linear)[0])  # evenly spaced
    explicit = contour_sets(plots.contour_paths(bowl, levels=[1, 2, 8], filled=False, ax=plt.figure().gca(),
                                                **window))[0].levels
    assert np.array_equal(explicit, [1, 2, 8])
    logged = contour_sets(plots.contour_paths(bowl, levels=9, log_levels=True, filled=False, ax=plt.figure().gca(),
                                              **window))[0].levels
    span = (logged[-1] - logged[0]) / (1 - 1e-4)  # four decades: the lowest level is floor + 1e-4 * span
    floor = logged[-1] - span
    assert 0 <= floor < 1e-2  # the smallest value on the grid, next to the minimum 0 at (1, -2)
    ratios = (logged[1:] - floor) / (logged[:-1] - floor)
    assert len(logged) == 9 and np.allclose(ratios, ratios[0], rtol=1e-2) and ratios[0] == pytest.approx(10 ** 0.5, rel=1e-2)


def test_contour_paths_names_the_shapes_and_values_it_expects():
    with pytest.raises(ValueError, match=r"path 'adam' must have shape \(k, 2\).*got \(4, 3\)"):
        plots.contour_paths(bowl, {"adam": np.zeros((4, 3))})
    with pytest.raises(ValueError, match=r"path 'path' must have shape \(k, 2\).*got \(0,\)"):
        plots.contour_paths(bowl, [])
    with pytest.raises(ValueError, match=r"f must map points of shape \(400, 2\) to values of shape \(400,\)"):
        plots.contour_paths(lambda P: P, [[0, 0], [1, 1]], resolution=20)
    with pytest.raises(ValueError, match="xlim is needed"):
        plots.contour_paths(bowl)
    with pytest.raises(ValueError, match="low < high"):
        plots.contour_paths(bowl, xlim=(1, 1), ylim=(0, 1))
    with pytest.raises(ValueError, match="levels must be at least 1"):
        plots.contour_paths(bowl, [[0, 0]], levels=0)
    with pytest.raises(ValueError, match="log_levels=True needs levels to be a number"):
        plots.contour_paths(bowl, [[0, 0]], levels=[1, 2], log_levels=True)
    with pytest.raises(ValueError, match=r"minimum must have shape \(2,\)"):
        plots.contour_paths(bowl, [[0, 0]], minimum=[1, 2, 3])
