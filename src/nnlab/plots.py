"""Shared plots: decision boundaries of 2-D classifiers, training curves, grids of panels.

Every function draws on the ``ax`` it is given (or a new one) and returns that ``ax``, so plots
compose: ``ax = decision_boundary(...); ax.set_title(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
CLASS_MARKERS = ("o", "s", "^", "D", "v")


def _points_and_labels(X, y) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},) to match X, got {y.shape}")
    return X, y


def subplots(n: int, ncols: int = 4, size: float = 3.0):
    """A figure with ``n`` square panels in rows of ``ncols``; returns ``(fig, axes)``, axes flat."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X, y, *, ax=None,
                      title: str | None = None, resolution: int = 200, padding: float = 0.5):
    """Shade the regions a 2-D classifier assigns to each class and scatter the data on top.

    ``predict`` maps an array of shape ``(m, 2)`` to labels of shape ``(m,)``; ``X`` has shape
    ``(n, 2)`` and ``y`` shape ``(n,)``. The boundary is drawn between neighbouring labels.
    """
    X, y = _points_and_labels(X, y)
    ax = ax or plt.gca()
    (x0, y0), (x1, y1) = X.min(axis=0) - padding, X.max(axis=0) + padding
    grid_x, grid_y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    predicted = np.asarray(predict(grid))
    if predicted.shape != (len(grid),):
        raise ValueError(f"predict must return shape ({len(grid)},) for {len(grid)} points, "
                         f"got {predicted.shape}")
    classes = np.unique(np.concatenate([np.unique(y), np.unique(predicted)]))
    index = np.searchsorted(classes, predicted).reshape(grid_x.shape)
    colors = [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(len(classes))]
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(grid_x, grid_y, index, levels=levels, colors=colors, alpha=0.18)
    if len(classes) > 1:
        ax.contour(grid_x, grid_y, index, levels=levels[1:-1], colors="k", linewidths=1)
    for i, label in enumerate(classes):
        members = y == label
        ax.scatter(X[members, 0], X[members, 1], c=colors[i], edgecolors="k", linewidths=0.5,
                   marker=CLASS_MARKERS[i % len(CLASS_MARKERS)], label=f"class {label}", zorder=3)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def training_curve(history: Sequence[float] | Mapping[str, Sequence[float]], *, ax=None,
                   title: str | None = None, xlabel: str = "epoch", ylabel: str = "loss",
                   logy: bool = False, start: int = 1):
    """Plot one curve per series: ``history`` is a list of values or a ``{name: values}`` dict.

    The x axis counts from ``start`` (epoch 1 by default). ``logy=True`` uses a log scale, which
    shows the late, slow part of training better.
    """
    series = dict(history) if isinstance(history, Mapping) else {ylabel: history}
    if not series:
        raise ValueError("history is empty: expected a list of values or a {name: values} dict")
    ax = ax or plt.gca()
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"series {name!r} must have shape (epochs,), got {values.shape}")
        ax.plot(np.arange(start, start + len(values)), values, marker="o" if len(values) <= 30 else None,
                markersize=3, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax
