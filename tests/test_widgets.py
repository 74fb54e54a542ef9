import ipywidgets
import pytest

from nnlab import widgets


def test_slider_picks_int_float_or_log_from_its_bounds():
    assert isinstance(widgets.slider(1, 10, value=3), ipywidgets.IntSlider)
    assert isinstance(widgets.slider(0.0, 1.0, value=0.5), ipywidgets.FloatSlider)
    lr = widgets.slider(1e-3, 10.0, value=0.1, log=True)
    assert isinstance(lr, ipywidgets.FloatLogSlider) and lr.value == pytest.approx(0.1)
    assert (lr.min, lr.max) == pytest.approx((-3, 1))


def test_slider_and_menu_refuse_bad_bounds_with_a_reason():
    with pytest.raises(ValueError, match="minimum < maximum"):
        widgets.slider(2, 1)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        widgets.slider(0, 1, value=5)
    with pytest.raises(ValueError, match="minimum > 0"):
        widgets.slider(0.0, 1.0, log=True)
    with pytest.raises(ValueError, match="at least one option"):
        widgets.menu([])
    with pytest.raises(ValueError, match=r"\['z'\] are not among"):
        widgets.checkboxes(["a", "b"], checked=["z"])


def test_outside_a_kernel_explore_draws_once_with_the_starting_values():
    calls = []
    result = widgets.explore(lambda degree, name, a, b: calls.append((degree, name, a, b)),
                             degree=widgets.slider(1, 9, value=4), name=widgets.menu(["x", "y"], value="y"),
                             **widgets.checkboxes(["a", "b"], checked=["b"]))
    assert result is None
    assert calls == [(4, "y", False, True)]


def test_static_variable_forces_the_fallback(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_VARIABLE, "1")
    assert widgets.in_kernel() is False


@pytest.mark.notebooks
@pytest.mark.parametrize("grading", [None, "validate"])
def test_under_nbgrader_explore_draws_a_figure_instead_of_a_widget(grading):
    """nbgrader's validate and autograde set NBGRADER_EXECUTION in the kernel: a static figure, no widget."""
    import nbformat
    from nbclient import NotebookClient

    cell = nbformat.v4.new_code_cell("import os\n"
                                     + (f"os.environ['NBGRADER_EXECUTION'] = '{grading}'\n" if grading else "")
                                     + "import matplotlib.pyplot as plt\nfrom nnlab import widgets\n"
                                     "widgets.explore(lambda a: (plt.plot([0, a]), plt.show()), "
                                     "a=widgets.slider(0, 3, value=2))")
    notebook = nbformat.v4.new_notebook(cells=[cell])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    kinds = sorted(kind for output in cell.outputs for kind in output.get("data", {}))
    if grading:
        assert "image/png" in kinds and "application/vnd.jupyter.widget-view+json" not in kinds, kinds
    else:
        assert "application/vnd.jupyter.widget-view+json" in kinds and "image/png" not in kinds, kinds


def test_explore_names_a_control_that_is_not_a_widget():
    with pytest.raises(TypeError, match="control 'degree' must be an ipywidgets value widget"):
        widgets.explore(lambda degree: None, degree=(1, 9))
    with pytest.raises(ValueError, match="at least one control"):
        widgets.explore(lambda: None)


@pytest.mark.notebooks
def test_in_a_kernel_explore_displays_one_panel_even_as_a_cells_last_line():
    """A cell ending in ``widgets.explore(...)`` shows one panel (its value is not displayed again)."""
    import nbformat
    from nbclient import NotebookClient

    cell = nbformat.v4.new_code_cell("from nnlab import widgets\n"
                                     "widgets.explore(lambda a: print(a), a=widgets.slider(0, 3, value=2))")
    notebook = nbformat.v4.new_notebook(cells=[cell])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    panels = [output for output in cell.outputs
              if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert len(panels) == 1, f"expected one widget panel, the cell displayed {len(panels)}: {cell.outputs}"
