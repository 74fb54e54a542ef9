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


def network_diagram(sizes: Sequence[int], *, ax=None, recurrent: Sequence[int] = (), max_drawn: int = 10,
                    title: str | None = None):
    """Draw a fully connected feed-forward network: one column of neurons per layer, every pair joined.

    ``sizes`` lists the layer widths ``[n_inputs, n_1, ..., n_L]`` (at least two positive integers):
    inputs are drawn as grey squares, hidden neurons as blue circles, output neurons as red circles,
    and every neuron of one layer is joined to every neuron of the next. ``recurrent`` lists layer
    indices (1 … L) whose neurons get a feedback loop, to show a recurrent network. A layer wider
    than ``max_drawn`` shows its first and last neurons around a "⋮", with its true width in the label.
    """
    from matplotlib.patches import Arc

    sizes = list(sizes)
    if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in sizes):
        raise ValueError(f"sizes must be a sequence of at least two positive integers [n_inputs, n_1, ..., n_L], "
                         f"got {sizes!r}")
    bad = [q for q in recurrent if not 1 <= q < len(sizes)]
    if bad:
        raise ValueError(f"recurrent layers must be indices 1 … {len(sizes) - 1} (the input layer has none), got {bad}")
    if max_drawn < 2:
        raise ValueError(f"max_drawn must be at least 2, got {max_drawn!r}")
    ax = ax or plt.gca()
    top = min(max(sizes), max_drawn)
    columns = []  # per layer: the y positions of the neurons drawn
    for q, n in enumerate(sizes):
        shown = n if n <= max_drawn else max_drawn
        ys = np.linspace(0, top - 1, shown) if shown > 1 else np.array([(top - 1) / 2])
        ys = ys if n <= max_drawn else np.delete(np.linspace(0, top - 1, shown + 1), shown // 2)
        columns.append(ys[::-1])
    for q in range(len(sizes) - 1):  # edges first, so the neurons sit on top of them
        for y0 in columns[q]:
            for y1 in columns[q + 1]:
                ax.plot([q, q + 1], [y0, y1], color="0.6", linewidth=0.7, zorder=1)
    for q, (n, ys) in enumerate(zip(sizes, columns)):
        kind = "input" if q == 0 else ("output" if q == len(sizes) - 1 else f"hidden {q}")
        color = "0.75" if q == 0 else ("#d62728" if q == len(sizes) - 1 else "#1f77b4")
        ax.scatter(np.full(len(ys), q), ys, s=260, marker="s" if q == 0 else "o", c=color, edgecolors="k",
                   zorder=3)
        if n > max_drawn:
            ax.text(q, (top - 1) / 2, "⋮", ha="center", va="center", fontsize=14, zorder=3)
        ax.text(q, -0.9, f"{kind}\n({n})", ha="center", va="top", fontsize=9)
        if q in recurrent:  # a loop above each neuron: its output comes back as its input at the next step
            for y in ys:
                ax.add_patch(Arc((q, y + 0.38), 0.2, 0.4, theta1=-60, theta2=240, color="#ff7f0e", linewidth=1.5,
                                 zorder=2))
                end = np.array([q - 0.05, y + 0.38 - 0.2 * np.sin(np.pi / 3)])  # where the arc meets the neuron
                ax.annotate("", xy=end + [0.03, -0.035], xytext=end, zorder=2,
                            arrowprops=dict(arrowstyle="-|>", color="#ff7f0e", linewidth=1.5, mutation_scale=12))
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-1.9, top - 0.2 + (0.8 if recurrent else 0.5))
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def _path_points(name: str, path) -> np.ndarray:
    points = np.asarray(path, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"path {name!r} must have shape (k, 2) with k >= 1 (one row per iterate), "
                         f"got {points.shape}")
    return points


def contour_paths(f: Callable[[np.ndarray], np.ndarray], paths=None, *, xlim=None, ylim=None,
                  levels: int | Sequence[float] = 20, log_levels: bool = False, minimum=None, ax=None,
                  title: str | None = None, resolution: int = 200, xlabel: str = "$w_1$",
                  ylabel: str = "$w_2$", filled: bool = True):
    """Contours of a function of two variables, with the paths optimizers took across them.

    ``f`` maps an array of points of shape ``(m, 2)`` to their values, shape ``(m,)`` (vectorise it:
    it is called once on the whole grid). ``paths`` is one array of iterates of shape ``(k, 2)``, or a
    ``{name: (k, 2) array}`` dict for several optimizers (each gets a colour and a legend entry); each
    path is drawn as a line through its iterates, its start as a circle and its end as a cross.
    Iterates that are infinite or NaN (a diverging run) are skipped when choosing the view; give
    ``xlim`` and ``ylim`` to keep the huge but finite iterates of a diverging run out of it.

    ``xlim`` and ``ylim`` are ``(low, high)`` pairs; when left out they fit the paths' finite points
    with a margin (so at least one path is needed then). ``levels`` is a number of contour levels or
    the increasing levels themselves. ``log_levels=True`` spaces that number of levels geometrically
    over four decades above the smallest value on the grid: a long, flat valley then shows as many
    contours as its steep walls. ``minimum``, a point of shape ``(2,)``, is marked with a star.
    Returns the ``ax``.
    """
    named = dict(paths) if isinstance(paths, Mapping) else ({} if paths is None else {"path": paths})
    named = {str(name): _path_points(str(name), path) for name, path in named.items()}
    finite = [p[np.isfinite(p).all(axis=1)] for p in named.values()]
    finite = np.vstack(finite) if finite else np.empty((0, 2))
    if minimum is not None:
        minimum = np.asarray(minimum, dtype=float)
        if minimum.shape != (2,):
            raise ValueError(f"minimum must have shape (2,), got {minimum.shape}")
        finite = np.vstack([finite, minimum[None, :]])
    limits = []
    for name, given, column in (("xlim", xlim, 0), ("ylim", ylim, 1)):
        if given is None:
            if len(finite) == 0:
                raise ValueError(f"{name} is needed when no path has a finite point to fit the view to")
            low, high = finite[:, column].min(), finite[:, column].max()
            margin = 0.15 * (high - low) or 1.0
            given = (low - margin, high + margin)
        low, high = (float(v) for v in given)
        if not low < high:
            raise ValueError(f"{name} must be (low, high) with low < high, got {given!r}")
        limits.append((low, high))
    if isinstance(levels, (int, np.integer)):
        if levels < 1:
            raise ValueError(f"levels must be at least 1, got {levels!r}")
    elif log_levels:
        raise ValueError("log_levels=True needs levels to be a number of levels, not the levels themselves")
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution!r}")

    (x0, x1), (y0, y1) = limits
    grid_x, grid_y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    values = np.asarray(f(grid), dtype=float)
    if values.shape != (len(grid),):
        raise ValueError(f"f must map points of shape ({len(grid)}, 2) to values of shape ({len(grid)},), "
                         f"got {values.shape}")
    values = values.reshape(grid_x.shape)
    if log_levels:
        low, high = np.nanmin(values), np.nanmax(values)
        span = (high - low) or 1.0
        levels = low + np.geomspace(1e-4 * span, span, int(levels))  # the log scale counts from the floor

    ax = ax or plt.gca()
    if filled:
        ax.contourf(grid_x, grid_y, values, levels=levels, cmap="viridis", alpha=0.35)
    ax.contour(grid_x, grid_y, values, levels=levels, colors="0.35", linewidths=0.6)
    for i, (name, points) in enumerate(named.items()):
        color = f"C{i % 10}"
        ax.plot(points[:, 0], points[:, 1], ".-", color=color, markersize=4, linewidth=1.2, label=name,
                zorder=3)
        ax.plot(*points[0], "o", color=color, markersize=7, markeredgecolor="k", zorder=4)
        last = points[np.isfinite(points).all(axis=1)]
        if len(last):
            ax.plot(*last[-1], "X", color=color, markersize=8, markeredgecolor="k", zorder=4)
    if minimum is not None:
        ax.plot(*minimum, "*", color="gold", markersize=15, markeredgecolor="k", zorder=5, label="minimum")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if isinstance(paths, Mapping) or minimum is not None:  # one unnamed path needs no legend
        ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def image_grid(images, labels: Sequence | None = None, *, ncols: int = 10, ax=None, title: str | None = None,
               image_shape: tuple[int, int] | None = None, cmap: str = "gray_r", label_colors: Sequence | None = None,
               pad: int = 1):
    """Tile small grey-scale images into one picture, ``ncols`` per row, each with an optional caption.

    ``images`` has shape ``(n, h, w)``, or ``(n, h * w)`` for flattened images: square ones are
    unflattened by themselves, others need ``image_shape=(h, w)``. ``labels`` (``n`` captions: digits,
    strings such as ``"7→1"``) are written above the tiles, in ``label_colors`` when given (``n``
    colours, e.g. red for mistakes). Each image is shown on its own grey scale, ``cmap="gray_r"``
    drawing ink dark on white. Everything goes on one ``ax``, which is returned.
    """
    images = np.asarray(images, dtype=float)
    if images.ndim == 2:
        n, d = images.shape
        if image_shape is None:
            side = int(round(np.sqrt(d)))
            if side * side != d:
                raise ValueError(f"images of shape (n, {d}) are not square: pass image_shape=(h, w) with h * w = {d}, "
                                 f"or images of shape (n, h, w)")
            image_shape = (side, side)
        if int(np.prod(image_shape)) != d:
            raise ValueError(f"image_shape {tuple(image_shape)} does not match {d} pixels per image: "
                             f"expected h * w = {d}")
        images = images.reshape(n, *image_shape)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"images must have shape (n, h, w) or (n, h * w) with n >= 1, got {images.shape}")
    n, h, w = images.shape
    for name, values in (("labels", labels), ("label_colors", label_colors)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} must have one entry per image, shape ({n},), got {len(values)} entries")
    if ncols < 1 or pad < 0:
        raise ValueError(f"ncols must be >= 1 and pad >= 0, got ncols={ncols!r}, pad={pad!r}")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    top = pad + (int(np.ceil(0.3 * h)) if labels is not None else 0)  # room above each row for its captions
    # each image scaled to [0, 1] on its own, so a faint digit is as visible as a bold one
    low = images.min(axis=(1, 2), keepdims=True)
    span = np.ptp(images, axis=(1, 2), keepdims=True)
    scaled = (images - low) / np.where(span > 0, span, 1.0)
    mosaic = np.full((nrows * (h + top) + pad, ncols * (w + pad) + pad), np.nan)  # NaN: the gaps
    for i, image in enumerate(scaled):
        r, c = divmod(i, ncols)
        y0, x0 = top + r * (h + top), pad + c * (w + pad)
        mosaic[y0:y0 + h, x0:x0 + w] = image
    if ax is None:
        _, ax = plt.subplots(figsize=(0.7 * ncols * max(w / h, 1.0), 0.7 * nrows * (h + top) / h * max(h / w, 1.0)))
    palette = plt.get_cmap(cmap).with_extremes(bad="white")  # the NaN gaps show as white
    ax.imshow(mosaic, cmap=palette, vmin=0.0, vmax=1.0, interpolation="nearest")
    if labels is not None:
        for i, label in enumerate(labels):
            r, c = divmod(i, ncols)
            color = label_colors[i] if label_colors is not None else "black"
            ax.text(pad + c * (w + pad) + (w - 1) / 2, top + r * (h + top) - 0.6, str(label),
                    ha="center", va="bottom", fontsize=8, color=color)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def computational_graph(nodes, edges, *, values: Mapping[str, float] | None = None,
                        grads: Mapping[str, float] | None = None, active: Sequence[str] = (),
                        above: Sequence[str] = (), ax=None, title: str | None = None, grad_prefix: str = "∂L/∂",
                        fmt: str = ".4g"):
    """Draw a small computational graph: a box per node, an arrow per edge, numbers on the nodes.

    ``nodes`` is a mapping ``{name: (x, y)}`` of node names to positions in data coordinates, or a
    sequence of names, which are then placed left to right at ``y = 0`` (a chain). Names are the
    labels drawn, so matplotlib mathtext such as ``"$a_1$"`` works. ``edges`` is a sequence of
    ``(source, target)`` or ``(source, target, label)`` tuples: an arrow from ``source`` to
    ``target``, with ``label`` (e.g. the local derivative) written at its middle.

    ``values`` maps node names to their forward values, written in black under the name; ``grads``
    maps node names to the gradient of the final output with respect to that node, written in red
    below, prefixed by ``grad_prefix``. Nodes missing from either mapping are drawn without that
    number, so a step-by-step figure can fill them in gradually. Nodes named in ``active`` get an
    orange box (the step being computed). Nodes named in ``above`` get their numbers written above
    the box instead of below it, which keeps them clear of arrows leaving downwards (parameters
    drawn over a chain, say). Returns ``ax``.
    """
    if isinstance(nodes, Mapping):
        positions = dict(nodes)
    else:
        names = list(nodes)
        positions = {name: (float(i), 0.0) for i, name in enumerate(names)}
        if len(positions) != len(names):
            raise ValueError(f"node names must be distinct, got {names!r}")
    if not positions:
        raise ValueError("nodes is empty: expected {name: (x, y)} or a sequence of names")
    for name, where in positions.items():
        if np.shape(where) != (2,):
            raise ValueError(f"the position of node {name!r} must be a pair (x, y), got {where!r}")
    parsed = []
    for edge in edges:
        if not isinstance(edge, (tuple, list)) or len(edge) not in (2, 3):
            raise ValueError(f"each edge must be (source, target) or (source, target, label), got {edge!r}")
        source, target, label = (*edge, None) if len(edge) == 2 else edge
        for end in (source, target):
            if end not in positions:
                raise ValueError(f"edge {edge!r} names node {end!r}, which is not among {list(positions)}")
        parsed.append((source, target, label))
    values, grads = dict(values or {}), dict(grads or {})
    for what, numbers in (("values", values), ("grads", grads), ("active", dict.fromkeys(active)),
                          ("above", dict.fromkeys(above))):
        unknown = [name for name in numbers if name not in positions]
        if unknown:
            raise ValueError(f"{what} names nodes {unknown} that are not among {list(positions)}")
    ax = ax or plt.gca()
    box = dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor="k")
    for source, target, label in parsed:  # arrows first, so the boxes sit on top of them
        (x0, y0), (x1, y1) = positions[source], positions[target]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color="0.45", linewidth=1.2, shrinkA=22, shrinkB=22))
        if label:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, label, ha="center", va="bottom", fontsize=8,
                    color="0.3", zorder=2)
    for name, (x, y) in positions.items():
        style = dict(box, facecolor="#ffd8a8" if name in active else "white")
        ax.text(x, y, name, ha="center", va="center", fontsize=11, bbox=style, zorder=3)
        up = name in above  # numbers above the box: value nearest to it, then the gradient
        side, align = (1, "bottom") if up else (-1, "top")
        if name in values:
            ax.text(x, y + side * 0.3, f"{values[name]:{fmt}}", ha="center", va=align, fontsize=9, zorder=3)
        if name in grads:
            plain = name.strip("$")  # "$a_1$" -> "∂L/∂$a_1$" reads as one label
            label = f"{grad_prefix}${plain}$" if name.startswith("$") else f"{grad_prefix}{name}"
            ax.text(x, y + side * (0.58 if not up else 0.55), f"{label}\n{grads[name]:{fmt}}", ha="center",
                    va=align, fontsize=8, color="#d62728", zorder=3)
    xs, ys = zip(*positions.values())
    top = max([y + (1.25 if name in above else 0.55) for name, (_, y) in positions.items()])
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 1.25, top)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def _curve_values(name: str, function: Callable[[np.ndarray], np.ndarray], z: np.ndarray) -> np.ndarray:
    values = np.asarray(function(z.copy()), dtype=float)  # a copy: a callable that writes in place harms no one
    if values.shape != z.shape:
        raise ValueError(f"{name} must map z of shape {z.shape} to values of shape {z.shape} (element-wise), "
                         f"got {values.shape}")
    return values


def function_and_derivative(f: Callable[[np.ndarray], np.ndarray],
                            derivative: Callable[[np.ndarray], np.ndarray] | None = None, *, z=None, ax=None,
                            breaks: Sequence[float] = (), title: str | None = None, label: str = r"$\varphi(z)$",
                            derivative_label: str = r"$\varphi'(z)$", xlabel: str = "$z$", ylim=None):
    """Plot an element-wise function (solid line) and its derivative (dashed line) against ``z``, on one ``ax``.

    ``f`` and ``derivative`` are callables that map an array of shape ``(m,)`` to an array of shape
    ``(m,)``, element by element (an activation and its derivative, say); ``derivative=None`` draws ``f``
    alone. ``z`` is the grid, shape ``(m,)`` with ``m >= 2`` increasing values (default: 1001 points on
    ``[-5, 5]``).

    ``breaks`` lists the ``z`` values where ``f`` or its derivative jumps (a step at 0, or ReLU's kink,
    where the derivative jumps): both curves are cut there, so no false vertical line joins the two
    sides, and the value each callable returns *at* the break is marked with a dot (the unit step's
    ½ at 0, say). Breaks outside the grid are ignored. Returns the ``ax``.
    """
    z = np.linspace(-5.0, 5.0, 1001) if z is None else np.asarray(z, dtype=float)
    if z.ndim != 1 or len(z) < 2 or not np.all(np.diff(z) > 0):
        raise ValueError(f"z must have shape (m,) with m >= 2 increasing values, got shape {z.shape}")
    breaks = np.asarray(breaks, dtype=float).reshape(-1)
    if not np.all(np.isfinite(breaks)):
        raise ValueError(f"breaks must be finite numbers, got {breaks.tolist()}")
    inside = np.unique(breaks[(breaks > z[0]) & (breaks < z[-1])])
    grid = z[~np.isin(z, inside)]                     # the breaks themselves are drawn as dots, not on the lines
    cuts = np.searchsorted(grid, inside)              # where one piece of the curve ends and the next begins
    ax = ax or plt.gca()
    curves = [(f, label, "-", "C0")]
    if derivative is not None:
        curves.append((derivative, derivative_label, "--", "C3"))
    for function, name, style, color in curves:
        values = _curve_values(name, function, grid)
        ax.plot(np.insert(grid, cuts, np.nan), np.insert(values, cuts, np.nan), style, color=color, label=name)
        if len(inside):
            ax.plot(inside, _curve_values(name, function, inside), "o", color=color, markersize=5)
    ax.axhline(0.0, color="0.5", linewidth=0.6)
    ax.axvline(0.0, color="0.5", linewidth=0.6)
    ax.set_xlim(z[0], z[-1])
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def network_trace(sizes: Sequence[int], *, names: Mapping | None = None, notes: Mapping | None = None,
                  edge_notes: Mapping | None = None, active: Sequence = (), layer_labels: Sequence[str] | None = None,
                  ax=None, title: str | None = None, fontsize: float = 8):
    """Draw a small fully connected network with text on its neurons and links: one frame of a trace.

    ``sizes`` lists the layer widths ``[n_0, n_1, ..., n_L]``, inputs first (at least two layers, each
    1 … 8 wide). A neuron is keyed ``(q, i)``: layer ``q`` (0 = the inputs) and index ``i`` (0-based, top
    to bottom); a link is keyed ``(q, i, j)``: from neuron ``j`` of layer ``q - 1`` into neuron ``i`` of
    layer ``q``, receiving neuron first, like entry ``W[i, j]`` of that layer's weight matrix.

    ``names`` maps neuron keys to the text inside their circle (default: empty; inputs ``x1, x2, …``);
    ``notes`` maps neuron keys to text written under the circle (several lines allowed: its net input,
    output, error signal…); ``edge_notes`` maps link keys to text written on the link, near the
    receiving neuron (a weight, its change). ``active`` lists neuron and link keys drawn highlighted
    (the step being computed). ``layer_labels`` gives one label per layer, written above its column.
    Keys outside the network raise ``ValueError``. Returns ``ax``.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and 1 <= s <= 8 for s in sizes):
        raise ValueError(f"sizes must list at least two layer widths [n_0, ..., n_L], each an integer 1 … 8, "
                         f"got {sizes!r}")
    neurons = {(q, i) for q, n in enumerate(sizes) for i in range(n)}
    links = {(q, i, j) for q in range(1, len(sizes)) for i in range(sizes[q]) for j in range(sizes[q - 1])}
    names = {(0, i): f"$x_{i + 1}$" for i in range(sizes[0])} | dict(names or {})
    notes, edge_notes, active = dict(notes or {}), dict(edge_notes or {}), list(active)
    for what, keys, allowed, shape in (("names", names, neurons, "(q, i)"), ("notes", notes, neurons, "(q, i)"),
                                       ("edge_notes", edge_notes, links, "(q, i, j)")):
        unknown = [key for key in keys if tuple(key) not in allowed]
        if unknown:
            raise ValueError(f"{what} has keys {unknown} that are not {shape} keys of a {sizes} network")
    unknown = [key for key in active if tuple(key) not in neurons | links]
    if unknown:
        raise ValueError(f"active has keys {unknown} that are neither neurons (q, i) nor links (q, i, j) "
                         f"of a {sizes} network")
    if layer_labels is not None and len(layer_labels) != len(sizes):
        raise ValueError(f"layer_labels needs one label per layer ({len(sizes)}), got {len(layer_labels)}")
    active = {tuple(key) for key in active}
    ax = ax or plt.gca()
    top = max(sizes)
    gap_x, gap_y = 3.0, 2.5  # room for the notes between columns and under each neuron
    where = {(q, i): (gap_x * q, gap_y * ((n - 1) / 2 - i)) for q, n in enumerate(sizes) for i in range(n)}
    highlight, plain = "#e8590c", "0.65"
    for q, i, j in sorted(links):
        (x0, y0), (x1, y1) = where[(q - 1, j)], where[(q, i)]
        on = (q, i, j) in active
        ax.plot([x0, x1], [y0, y1], color=highlight if on else plain, linewidth=2.0 if on else 0.8, zorder=1)
        if (q, i, j) in edge_notes:
            fx, fy = x1 + 0.4 * (x0 - x1), y1 + 0.4 * (y0 - y1)
            ax.text(fx, fy, str(edge_notes[(q, i, j)]), ha="center", va="center", fontsize=fontsize - 1,
                    color="#a61e4d" if on else "0.25", zorder=4,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))
    for (q, i), (x, y) in where.items():
        on = (q, i) in active
        face = "#ffd8a8" if on else ("0.88" if q == 0 else "white")
        ax.scatter([x], [y], s=900, marker="s" if q == 0 else "o", c=face, edgecolors=highlight if on else "k",
                   linewidths=2.0 if on else 1.0, zorder=3)
        if names.get((q, i)):
            ax.text(x, y, str(names[(q, i)]), ha="center", va="center", fontsize=fontsize + 1, zorder=5)
        if notes.get((q, i)):
            ax.text(x, y - 0.42, str(notes[(q, i)]), ha="center", va="top", fontsize=fontsize, zorder=5,
                    color="#a61e4d" if on else "k",
                    bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.9))
    if layer_labels is not None:
        for q, label in enumerate(layer_labels):
            ax.text(gap_x * q, gap_y * (top - 1) / 2 + 0.9, str(label), ha="center", va="bottom",
                    fontsize=fontsize + 1, color="0.3")
    ax.set_xlim(-1.4, gap_x * (len(sizes) - 1) + 1.4)
    ax.set_ylim(-gap_y * (top - 1) / 2 - 1.9, gap_y * (top - 1) / 2 + (1.5 if layer_labels is not None else 0.9))
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize + 2)
    return ax


def layer_histograms(values: Sequence, *, ax=None, bins: int = 40, spread: float = 3.5, title: str | None = None,
                     xlabel: str = "value", names: Sequence[str] | None = None, show_std: bool = True):
    """One histogram per layer, stacked from the first layer (bottom) to the last (top) on one x axis.

    ``values`` holds one array per layer, of any shape (each is flattened): for instance the pre-activations
    of every layer of a network, or the entries of every layer's weight gradient. The x axis spans
    ``±spread`` times the largest standard deviation among the layers, so a layer whose values have shrunk
    shows as a spike at 0 and one whose values have grown fills the axis; values beyond the axis are
    counted in the end bins. Every histogram is scaled to the same height. ``names`` labels the layers on
    the y axis (default ``1, 2, …``), each with its standard deviation σ; with ``show_std=False`` only the
    first and the last layer are labelled, by name (cheaper to draw in a grid of many panels).
    Non-finite values are left out. Returns ``ax``.
    """
    layers = [np.asarray(v, dtype=float).ravel() for v in values]
    if not layers:
        raise ValueError("values is empty: expected one array per layer")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if not spread > 0:
        raise ValueError(f"spread must be positive, got {spread!r}")
    names = [str(i + 1) for i in range(len(layers))] if names is None else [str(n) for n in names]
    if len(names) != len(layers):
        raise ValueError(f"names needs one label per layer ({len(layers)}), got {len(names)}")
    layers = [v[np.isfinite(v)] for v in layers]
    stds = [float(v.std()) if v.size else 0.0 for v in layers]
    limit = spread * max(stds)
    if not limit > 0:  # every layer constant: centre the axis on the values, one unit wide
        limit = max([float(np.abs(v).max()) for v in layers if v.size] + [0.0]) + 1.0
    edges = np.linspace(-limit, limit, bins + 1)
    ax = ax or plt.gca()
    for level, (v, std) in enumerate(zip(layers, stds)):
        counts = np.histogram(np.clip(v, -limit, limit), bins=edges)[0].astype(float)
        if counts.max() > 0:
            counts *= 0.85 / counts.max()
        ax.stairs(counts + level, edges, baseline=level, fill=True, alpha=0.7, color=f"C{level % 10}")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(0, len(layers))
    if show_std:
        ax.set_yticks(np.arange(len(layers)) + 0.4, [f"{name}: σ {std:.0e}" for name, std in zip(names, stds)],
                      fontsize=7)
    else:
        ends = sorted({0, len(layers) - 1})
        ax.set_yticks(np.array(ends) + 0.4, [names[i] for i in ends], fontsize=7)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return ax
