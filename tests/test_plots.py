import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection

from nnlab import datasets, plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_decision_boundary_shades_regions_draws_the_line_and_every_point(tmp_path):
    X, y = datasets.linearly_separable(30, seed=0)
    ax = plots.decision_boundary(lambda P: (P[:, 0] + P[:, 1] > 0).astype(int), X, y, title="t")
    scattered = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in scattered) == 30
    assert len(scattered) == 2 and ax.get_title() == "t"
    assert ax.get_xlim()[0] < X[:, 0].min() and ax.get_xlim()[1] > X[:, 0].max()
    ax.figure.savefig(tmp_path / "boundary.png")
    assert (tmp_path / "boundary.png").stat().st_size > 1000


def test_decision_boundary_works_for_signed_labels_and_a_constant_classifier():
    X, y = datasets.logic_gate("and", signed=True)
    plots.decision_boundary(lambda P: -np.ones(len(P), dtype=int), X, y)


def test_decision_boundary_names_the_shapes_it_expects():
    X, y = datasets.blobs(10, centers=[[0, 0, 0], [1, 1, 1]])
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\), got \(10, 3\)"):
        plots.decision_boundary(lambda P: P[:, 0], X, y)
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        plots.decision_boundary(lambda P: P[:, 0], np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="predict must return shape"):
        plots.decision_boundary(lambda P: P, np.zeros((4, 2)), np.zeros(4))


def test_training_curve_draws_one_line_per_series_from_epoch_one():
    ax = plots.training_curve({"train": [3, 2, 1], "test": [4, 3, 3]}, logy=True)
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    assert ax.get_legend() is not None
    ax2 = plots.training_curve([5, 4], ax=plt.figure().gca(), ylabel="mistakes")
    assert ax2.get_ylabel() == "mistakes" and len(ax2.lines) == 1


def test_training_curve_refuses_empty_or_nested_histories():
    with pytest.raises(ValueError, match="history is empty"):
        plots.training_curve({})
    with pytest.raises(ValueError, match=r"shape \(epochs,\)"):
        plots.training_curve({"loss": [[1, 2], [3, 4]]})


def test_subplots_gives_exactly_n_visible_panels():
    fig, axes = plots.subplots(5, ncols=3)
    assert len(axes) == 5
    assert sum(ax.get_visible() for ax in fig.axes) == 5 and len(fig.axes) == 6
    with pytest.raises(ValueError):
        plots.subplots(0)
