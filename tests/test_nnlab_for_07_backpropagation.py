"""Units of the nnlab helpers added for lesson 07 (back-propagation): the computational-graph drawing, the network
trace drawn step by step, and the spirals data set."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnlab import plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def arrows(ax) -> list:
    return [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]


def test_a_chain_is_laid_out_left_to_right_with_an_arrow_per_edge(tmp_path):
    names = ["$x$", "$a_1$", "$f_1$", "$L$"]
    ax = plots.computational_graph(names, list(zip(names, names[1:])), title="chain")
    assert len(arrows(ax)) == 3
    boxes = {t.get_text(): t.get_position() for t in ax.texts if t.get_bbox_patch() is not None}
    assert list(boxes) == names and [boxes[n] for n in names] == [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0)]
    assert ax.get_title() == "chain"
    ax.figure.savefig(tmp_path / "graph.png")
    assert (tmp_path / "graph.png").stat().st_size > 1000


def test_values_and_gradients_are_written_on_their_nodes_and_missing_ones_are_left_out():
    nodes = {"w": (0, 1), "x": (0, 0), "a": (1, 0), "L": (2, 0)}
    edges = [("w", "a"), ("x", "a", "×"), ("a", "L")]
    ax = plots.computational_graph(nodes, edges, values={"w": 0.5, "x": 2.0, "a": 1.0, "L": 0.125},
                                   grads={"L": 1.0, "a": -0.5}, fmt=".3f")
    shown = texts(ax)
    for number in ("0.500", "2.000", "1.000", "0.125"):
        assert number in shown
    assert "∂L/∂L\n1.000" in shown and "∂L/∂a\n-0.500" in shown
    assert not any(s.startswith("∂L/∂w") for s in shown)  # no gradient given for w: none drawn
    assert "×" in shown  # the edge label
    assert len(arrows(ax)) == 3


def test_mathtext_names_get_a_mathtext_gradient_label_and_active_nodes_are_highlighted():
    ax = plots.computational_graph(["$a_1$", "$f_1$"], [("$a_1$", "$f_1$")], grads={"$a_1$": 0.25},
                                   active=["$f_1$"])
    assert "∂L/∂$a_1$\n0.25" in texts(ax)
    colors = {t.get_text(): t.get_bbox_patch().get_facecolor() for t in ax.texts if t.get_bbox_patch()}
    assert colors["$f_1$"] != colors["$a_1$"]


def test_computational_graph_names_what_it_expects():
    with pytest.raises(ValueError, match=r"pair \(x, y\)"):
        plots.computational_graph({"a": (0, 0, 1)}, [])
    with pytest.raises(ValueError, match=r"not among"):
        plots.computational_graph(["a", "b"], [("a", "c")])
    with pytest.raises(ValueError, match=r"\(source, target\)"):
        plots.computational_graph(["a", "b"], [("a",)])
    with pytest.raises(ValueError, match=r"grads names nodes \['z'\]"):
        plots.computational_graph(["a", "b"], [], grads={"z": 1.0})
    with pytest.raises(ValueError, match=r"distinct"):
        plots.computational_graph(["a", "a"], [])
    with pytest.raises(ValueError, match=r"empty"):
        plots.computational_graph([], [])


def test_numbers_of_nodes_named_in_above_are_written_above_their_box():
    ax = plots.computational_graph({"w": (0, 1), "a": (0, 0)}, [("w", "a")], values={"w": 2.0, "a": 3.0},
                                   grads={"w": 0.5}, above=["w"])
    where = {t.get_text(): t.get_position()[1] for t in ax.texts}
    assert where["2"] > 1 and where["∂L/∂w\n0.5"] > where["2"]  # value just above w, its gradient above that
    assert where["3"] < 0                                       # a's value stays below a
    assert ax.get_ylim()[1] >= 2.2
    with pytest.raises(ValueError, match=r"above names nodes \['q'\]"):
        plots.computational_graph(["a"], [], above=["q"])


# --- network_trace: one frame of a step-by-step trace through a small network --------------------------------


def test_network_trace_draws_every_neuron_and_link_and_writes_the_texts_it_is_given():
    sizes = [2, 3, 2, 1]
    notes = {(1, 0): "Net = 0.3\nOut = 0.574", (3, 0): "E = 0.09"}
    edge_notes = {(1, 0, 1): "w = 0.5", (3, 0, 1): "−0.8 → −0.79"}
    ax = plots.network_trace(sizes, names={(1, 0): "n1"}, notes=notes, edge_notes=edge_notes,
                             layer_labels=["q = 1", "q = 2", "q = 3", "q = 4"], title="step 3")
    shown = texts(ax)
    for text in ["$x_1$", "$x_2$", "n1", "Net = 0.3\nOut = 0.574", "E = 0.09", "w = 0.5", "−0.8 → −0.79", "q = 4"]:
        assert text in shown, text
    assert len(ax.lines) == 2 * 3 + 3 * 2 + 2 * 1          # one line per link of a 2-3-2-1 network
    assert sum(len(c.get_offsets()) for c in ax.collections) == 8  # one marker per neuron
    assert ax.get_title() == "step 3"


def test_network_trace_highlights_active_neurons_and_links_only():
    ax = plots.network_trace([2, 1], active=[(1, 0), (1, 0, 1)])
    widths = sorted(line.get_linewidth() for line in ax.lines)
    assert widths[0] < widths[1]                            # link (1, 0, 1) drawn thicker than (1, 0, 0)
    faces = [tuple(c.get_facecolor()[0]) for c in ax.collections]
    assert len(set(faces)) == 2 and faces[0] == faces[1] != faces[2]  # both inputs alike, the active neuron not


def test_network_trace_neurons_sit_in_columns_centred_on_one_line():
    ax = plots.network_trace([3, 1])
    points = [tuple(c.get_offsets()[0]) for c in ax.collections]
    inputs, output = points[:3], points[3]
    assert len({x for x, _ in inputs}) == 1 and output[0] > inputs[0][0]
    assert output[1] == inputs[1][1]                       # the single output sits level with the middle input


def test_network_trace_names_what_it_expects():
    with pytest.raises(ValueError, match=r"at least two layer widths"):
        plots.network_trace([3])
    with pytest.raises(ValueError, match=r"1 … 8"):
        plots.network_trace([2, 9])
    with pytest.raises(ValueError, match=r"notes has keys \[\(2, 0\)\]"):
        plots.network_trace([2, 1], notes={(2, 0): "no such neuron"})
    with pytest.raises(ValueError, match=r"edge_notes has keys \[\(1, 0, 2\)\]"):
        plots.network_trace([2, 1], edge_notes={(1, 0, 2): "no such link"})
    with pytest.raises(ValueError, match=r"active has keys \[\(0, 5\)\]"):
        plots.network_trace([2, 1], active=[(0, 5)])
    with pytest.raises(ValueError, match=r"one label per layer \(2\), got 1"):
        plots.network_trace([2, 1], layer_labels=["input"])


# --- datasets.spirals: the lesson's 2-D classification problem ----------------------------------------------------


def test_spirals_shapes_labels_and_determinism():
    from nnlab import datasets

    X, y = datasets.spirals(301, classes=3, seed=4)
    assert X.shape == (301, 2) and X.dtype == np.float64 and y.shape == (301,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [101, 100, 100] and np.all(np.diff(y) >= 0)
    assert np.all(np.linalg.norm(X, axis=1) <= 1 + 1e-12)
    X2, y2 = datasets.spirals(301, classes=3, seed=4)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.allclose(datasets.spirals(301, seed=5)[0], X)


def test_spirals_without_noise_lie_on_their_arms():
    from nnlab import datasets

    X, y = datasets.spirals(40, classes=2, turns=0.5, noise=0.0)
    radius = np.linalg.norm(X, axis=1)
    angle = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * y / 2 + 2 * np.pi * 0.5 * radius
    assert np.allclose(np.cos(angle), np.cos(expected)) and np.allclose(np.sin(angle), np.sin(expected))
    assert np.allclose(np.sort(radius[y == 0]), np.arange(1, 21) / 20)


def test_spirals_are_not_linearly_separable_but_a_small_network_fits_them():
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from nnlab import datasets

    X, y = datasets.spirals(300, seed=0)
    assert LogisticRegression(max_iter=1000).fit(X, y).score(X, y) < 0.7
    net = MLPClassifier(hidden_layer_sizes=(64,), max_iter=3000, random_state=0).fit(X, y)
    assert net.score(X, y) > 0.9


def test_spirals_refuse_bad_arguments():
    from nnlab import datasets

    for kwargs, message in [({"n": 0}, "n must be a positive integer"), ({"classes": 1}, "at least 2"),
                            ({"noise": -1.0}, "noise must be"), ({"turns": float("nan")}, "turns must be")]:
        with pytest.raises(ValueError, match=message):
            datasets.spirals(**kwargs)
