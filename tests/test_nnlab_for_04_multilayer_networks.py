"""Units of the nnlab helpers added for lesson 04 (multilayer networks)."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Arc

from nnlab import plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def drawn(ax):
    """(neurons drawn, edges drawn) on a network diagram."""
    neurons = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    return neurons, len(ax.lines)


def test_network_diagram_draws_every_neuron_and_every_connection_of_decks_001_and_003(tmp_path):
    ax = plots.network_diagram([3, 4, 2], title="3-4-2")
    assert drawn(ax) == (3 + 4 + 2, 3 * 4 + 4 * 2) and ax.get_title() == "3-4-2"
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["input\n(3)", "hidden 1\n(4)", "output\n(2)"]
    ax.figure.savefig(tmp_path / "net.png")
    assert (tmp_path / "net.png").stat().st_size > 1000
    plt.figure()
    ax = plots.network_diagram((3, 5, 4, 5, 2))
    assert drawn(ax) == (19, 65)  # deck 003: 65 weights


def test_network_diagram_shortens_wide_layers_but_labels_their_true_width():
    ax = plots.network_diagram([1, 50, 1], max_drawn=6)
    assert drawn(ax) == (1 + 6 + 1, 6 + 6)
    assert "hidden 1\n(50)" in [t.get_text() for t in ax.texts]
    assert "⋮" in [t.get_text() for t in ax.texts]


def test_network_diagram_draws_a_feedback_loop_per_neuron_of_a_recurrent_layer():
    ax = plots.network_diagram([2, 3, 1], recurrent=[1])
    assert sum(isinstance(p, Arc) for p in ax.patches) == 3
    assert drawn(ax) == (6, 9)  # the loops add no neuron and no edge
    assert not any(isinstance(p, Arc) for p in plots.network_diagram([2, 3, 1], ax=plt.figure().gca()).patches)


def test_network_diagram_names_what_it_expects():
    with pytest.raises(ValueError, match=r"at least two positive integers"):
        plots.network_diagram([3])
    with pytest.raises(ValueError, match=r"at least two positive integers"):
        plots.network_diagram([3, 0, 2])
    with pytest.raises(ValueError, match=r"indices 1 … 2"):
        plots.network_diagram([3, 4, 2], recurrent=[0])
    with pytest.raises(ValueError, match="max_drawn must be at least 2"):
        plots.network_diagram([3, 4, 2], max_drawn=1)


# --- datasets.circles: the playground's "circle" data set (lesson 04, section 8) ---------------------------------

import numpy as np  # noqa: E402

from nnlab import datasets  # noqa: E402


def test_circles_puts_class_1_in_the_disc_and_class_0_in_the_ring():
    X, y = datasets.circles(301, noise=0.0, seed=3)
    assert X.shape == (301, 2) and y.shape == (301,) and X.dtype == np.float64 and y.dtype == np.int64
    radius = np.linalg.norm(X, axis=1)
    assert np.array_equal(y, 1 - np.arange(301) % 2)           # alternating, class 1 first
    assert radius[y == 1].max() <= 0.5 and radius[y == 0].min() >= 0.7 and radius.max() <= 1.0
    angles = np.arctan2(X[:, 1], X[:, 0])
    assert np.ptp(angles) > 5.5                                  # all the way round
    X_s, y_s = datasets.circles(301, noise=0.0, seed=3, signed=True)
    assert np.array_equal(X_s, X) and set(y_s.tolist()) == {-1, 1} and np.array_equal(y_s, 2 * y - 1)


def test_circles_is_deterministic_per_seed_and_noise_blurs_the_gap():
    a, b, c = (datasets.circles(200, noise=0.1, seed=s) for s in (0, 0, 1))
    assert np.array_equal(a[0], b[0]) and not np.allclose(a[0], c[0])
    clean, _ = datasets.circles(200, noise=0.0, seed=0)
    assert 0.05 < np.std(a[0] - clean) < 0.15                    # noise * N(0, 1) on every coordinate


def test_circles_names_what_it_expects():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        datasets.circles(0)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        datasets.circles(10, noise=-0.1)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        datasets.circles(10, noise=float("nan"))
