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
