"""Interactive explorers: a plot redrawn whenever a slider or a menu changes.

    from nnlab import widgets
    def draw(degree, noise):                 # draws one figure for these values
        ...
    widgets.explore(draw, degree=widgets.slider(1, 15, value=3), noise=widgets.menu([0.1, 0.3]))

In a Jupyter kernel ``explore`` shows the controls above the plot (ipywidgets). Where no widget
front end can exist (a plain Python script, a test, a static export, ``NNLAB_STATIC=1``, or a
notebook that nbgrader is validating or grading) it draws the plot once with the controls'
starting values instead, so the lesson still shows a figure, in nbgrader's feedback too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import ipywidgets

STATIC_VARIABLE = "NNLAB_STATIC"
# nbgrader sets this in the kernels of `validate` and `autograde`: nobody watches their widgets, and
# a widget's messages can leave nbclient (which nbgrader runs notebooks with) waiting for its timeout.
GRADING_VARIABLE = "NBGRADER_EXECUTION"


def slider(minimum: float, maximum: float, *, value: float | None = None, step: float | None = None,
           description: str = "", log: bool = False) -> ipywidgets.ValueWidget:
    """A slider from ``minimum`` to ``maximum`` starting at ``value`` (default: ``minimum``).

    Integer bounds and step give an ``IntSlider``; anything else a ``FloatSlider``. ``log=True``
    gives a ``FloatLogSlider`` whose bounds are the values themselves (not their exponents), for
    quantities such as a learning rate that span decades.
    """
    if not minimum < maximum:
        raise ValueError(f"slider needs minimum < maximum, got {minimum!r} and {maximum!r}")
    value = minimum if value is None else value
    if not minimum <= value <= maximum:
        raise ValueError(f"slider value {value!r} is outside [{minimum!r}, {maximum!r}]")
    style = {"description_width": "initial"}
    if log:
        if minimum <= 0:
            raise ValueError(f"a log slider needs minimum > 0, got {minimum!r}")
        import math

        return ipywidgets.FloatLogSlider(value=value, base=10, min=math.log10(minimum), max=math.log10(maximum),
                                         step=step or 0.1, description=description, style=style,
                                         continuous_update=False)
    if all(isinstance(v, int) for v in (minimum, maximum, value)) and (step is None or isinstance(step, int)):
        return ipywidgets.IntSlider(value=value, min=minimum, max=maximum, step=step or 1,
                                    description=description, style=style, continuous_update=False)
    return ipywidgets.FloatSlider(value=value, min=minimum, max=maximum, step=step or (maximum - minimum) / 100,
                                  description=description, style=style, continuous_update=False)


def menu(options: Sequence, *, value=None, description: str = "") -> ipywidgets.ValueWidget:
    """A drop-down menu over ``options`` (a list of values, or of ``(label, value)`` pairs)."""
    if len(options) == 0:
        raise ValueError("menu needs at least one option")
    widget = ipywidgets.Dropdown(options=list(options), description=description,
                                 style={"description_width": "initial"})
    if value is not None:
        widget.value = value
    return widget


def checkboxes(names: Sequence[str], *, checked: Sequence[str] = ()) -> dict[str, ipywidgets.Checkbox]:
    """One tick box per name, ticked when it is in ``checked``: ``explore(draw, **checkboxes(...))``."""
    unknown = set(checked) - set(names)
    if unknown:
        raise ValueError(f"checked names {sorted(unknown)} are not among {list(names)}")
    return {name: ipywidgets.Checkbox(value=name in checked, description=name, indent=False) for name in names}


def in_kernel() -> bool:
    """True inside a Jupyter kernel, where a widget front end may be listening."""
    if os.environ.get(STATIC_VARIABLE, "") not in ("", "0") or os.environ.get(GRADING_VARIABLE):
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def explore(draw: Callable[..., object], **controls: ipywidgets.ValueWidget):
    """Show ``draw(**values)`` under one control per keyword, redrawn when a control changes.

    ``controls`` maps each argument of ``draw`` to a widget (``slider``, ``menu``, a tick box from
    ``checkboxes``, or any ipywidgets value widget). In a kernel this displays an
    ``ipywidgets.interactive`` (the controls, then the output); elsewhere it calls ``draw`` once
    with the starting values. Either way it returns ``None``: were it to return the panel, a cell
    ending in ``explore(...)`` would display it a second time, as the cell's value.
    """
    if not controls:
        raise ValueError("explore needs at least one control, e.g. explore(draw, x=slider(0, 1))")
    for name, widget in controls.items():
        if not isinstance(widget, ipywidgets.ValueWidget):
            raise TypeError(f"control {name!r} must be an ipywidgets value widget (try nnlab.widgets.slider), "
                            f"got {type(widget).__name__}")
    if not in_kernel():
        draw(**{name: widget.value for name, widget in controls.items()})
        return None
    from IPython.display import display

    display(ipywidgets.interactive(draw, **controls))
    return None
