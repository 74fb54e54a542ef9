"""Units of the nnlab helpers added for lesson 07 (back-propagation): the computational-graph drawing."""

import matplotlib.pyplot as plt
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
