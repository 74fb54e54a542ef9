"""Numerical gradients by central differences, and the relative error used to compare gradients.

    grad = numerical_gradient(lambda w: loss(w, X, y), w)
    relative_error(my_grad, grad)   # below ~1e-7 is right; above ~1e-3 something is wrong
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x, eps: float = 1e-6) -> np.ndarray:
    """The gradient of a scalar function ``f`` at ``x`` by central differences.

    ``x`` is an array of any shape ``S``; the result has shape ``S``, entry ``i`` being
    ``(f(x + eps·e_i) - f(x - eps·e_i)) / (2·eps)``. ``x`` itself is left unchanged. Costs
    ``2 · x.size`` calls of ``f``: use small arrays.
    """
    if eps <= 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    point = np.array(x, dtype=float)  # a private float copy that we nudge in place
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        original = point[index]
        point[index] = original + eps
        above = f(point)
        point[index] = original - eps
        below = f(point)
        point[index] = original
        if np.ndim(above) != 0 or np.ndim(below) != 0:
            raise ValueError(f"f must return a scalar, got shape {np.shape(above)}")
        gradient[index] = (float(above) - float(below)) / (2 * eps)
    return gradient


def relative_error(a, b, floor: float = 1e-12) -> float:
    """The largest elementwise ``|a - b| / max(|a| + |b|, floor)`` of two arrays of one shape.

    Scale-free, so it reads the same for tiny and large gradients: about 1e-7 or less means the
    two agree; 1e-4 is suspicious; 1e-2 or more means a bug.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"both arrays must have one shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


def check_gradient(f: Callable[[np.ndarray], float], x, analytic, *, eps: float = 1e-6,
                   tolerance: float = 1e-6) -> float:
    """Compare an analytic gradient with the numerical one at ``x``; return the relative error.

    ``analytic`` must have the shape of ``x``. Raises ``AssertionError`` naming the error and the
    worst entry when it exceeds ``tolerance``.
    """
    analytic = np.asarray(analytic, dtype=float)
    if analytic.shape != np.shape(x):
        raise ValueError(f"analytic gradient must have the shape of x, {np.shape(x)}, "
                         f"got {analytic.shape}")
    numeric = numerical_gradient(f, x, eps)
    error = relative_error(analytic, numeric)
    if error > tolerance:
        worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), numeric.shape)
        raise AssertionError(
            f"gradient check failed: relative error {error:.2e} > {tolerance:.0e}; worst at index "
            f"{tuple(int(i) for i in worst)}: analytic {analytic[worst]:.6g}, "
            f"numerical {numeric[worst]:.6g}"
        )
    return error
