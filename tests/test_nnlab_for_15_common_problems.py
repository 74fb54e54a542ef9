"""Units of the nnlab helper added for lesson 15 (common problems): ``plots.layer_histograms``, the
per-layer histograms of activations and gradients that the initialisation experiment draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnlab import plots


@pytest.fixture
def ax():
    figure, axes = plt.subplots()
    yield axes
    plt.close(figure)


def test_one_filled_histogram_per_layer_first_layer_at_the_bottom(ax):
    rng = np.random.default_rng(0)
    layers = [rng.normal(0, 1, 500), rng.normal(0, 2, (10, 50)), rng.normal(0, 4, 500)]
    assert plots.layer_histograms(layers, ax=ax, title="z per layer") is ax
    patches = [p for p in ax.patches]
    assert len(patches) == 3
    bottoms = [p.get_path().vertices[:, 1].min() for p in patches]
    assert np.allclose(bottoms, [0, 1, 2])                       # layer l sits on the baseline l
    tops = [p.get_path().vertices[:, 1].max() - b for p, b in zip(patches, bottoms)]
    assert np.allclose(tops, 0.85)                                # every histogram scaled to one height
    assert ax.get_title() == "z per layer"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("1: σ") and labels[2].startswith("3: σ 4e+00")


def test_the_axis_spans_spread_times_the_largest_standard_deviation(ax):
    layers = [np.array([-1.0, 1.0]), np.array([-3.0, 3.0])]    # standard deviations 1 and 3
    plots.layer_histograms(layers, ax=ax, spread=2.0, names=["in", "out"])
    assert ax.get_xlim() == pytest.approx((-6.0, 6.0))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["in: σ 1e+00", "out: σ 3e+00"]


def test_values_beyond_the_axis_land_in_the_end_bins_and_non_finite_values_are_left_out(ax):
    layers = [np.array([0.0, 0.0, 1e9, np.nan, np.inf]), np.array([-1.0, 1.0])]
    plots.layer_histograms(layers, ax=ax, bins=4, spread=1.0)
    low, high = ax.get_xlim()
    assert np.isfinite([low, high]).all() and high > 0


def test_layers_that_are_all_zero_still_draw(ax):
    plots.layer_histograms([np.zeros(10), np.zeros(3)], ax=ax)
    assert ax.get_xlim() == pytest.approx((-1.0, 1.0)) and len(ax.patches) == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(values=[]), "values is empty"),
    (dict(values=[np.ones(3)], bins=0), "bins must be a positive integer"),
    (dict(values=[np.ones(3)], spread=0), "spread must be positive"),
    (dict(values=[np.ones(3), np.ones(3)], names=["only one"]), "names needs one label per layer"),
])
def test_bad_arguments_are_refused_with_a_clear_message(ax, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.layer_histograms(ax=ax, **kwargs)


def test_without_the_standard_deviations_only_the_first_and_last_layers_are_labelled(ax):
    plots.layer_histograms([np.ones(4) * k for k in range(5)], ax=ax, show_std=False, names="abcde")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "e"]
    single = plt.subplots()[1]
    plots.layer_histograms([np.arange(3.0)], ax=single, show_std=False)
    assert [t.get_text() for t in single.get_yticklabels()] == ["1"]
