"""Small data sets made on the spot: logic gates, separable point clouds, XOR.

Every function returns ``X`` with shape ``(n, d)`` (float64) and labels ``y`` with shape ``(n,)``
(int64), 0/1 by default or -1/+1 with ``signed=True``, and is deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np

# Rows in the order of deck 003's training sets: T0 = (0, 0), T1 = (0, 1), T2 = (1, 0), T3 = (1, 1).
GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATE_OUTPUTS = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "nor": [1, 0, 0, 0],
    "xor": [0, 1, 1, 0],
    "xnor": [1, 0, 0, 1],
}


def _labels(y01: np.ndarray, signed: bool) -> np.ndarray:
    y01 = np.asarray(y01, dtype=np.int64)
    return 2 * y01 - 1 if signed else y01


def _positive_int(name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def logic_gate(name: str, *, signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The truth table of a two-input Boolean gate.

    Returns ``X`` of shape ``(4, 2)`` with rows (0,0), (0,1), (1,0), (1,1) and ``y`` of shape
    ``(4,)``. ``name`` is one of and, or, nand, nor, xor, xnor (any case).
    """
    key = str(name).lower()
    if key not in GATE_OUTPUTS:
        raise ValueError(f"unknown gate {name!r}: expected one of {', '.join(GATE_OUTPUTS)}")
    return GATE_INPUTS.copy(), _labels(GATE_OUTPUTS[key], signed)


def linearly_separable(n: int = 100, d: int = 2, *, margin: float = 0.1, seed: int = 0,
                       signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Points in the cube [-1, 1]^d split by a random hyperplane, none closer to it than ``margin``.

    The hyperplane is ``u · x + c = 0`` with a random unit normal ``u`` and ``|c| <= 0.3``; a point
    is labelled 1 (or +1) on the side ``u`` points to. Both classes always appear. Returns ``X`` of
    shape ``(n, d)`` and ``y`` of shape ``(n,)``.
    """
    n, d = _positive_int("n", n), _positive_int("d", d)
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin!r}")
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=d)
    normal /= np.linalg.norm(normal)
    offset = rng.uniform(-0.3, 0.3)
    points = np.empty((0, d))
    while len(points) < n:  # rejection sampling; about half the draws survive for margin < 0.5
        candidates = rng.uniform(-1, 1, size=(4 * n, d))
        distance = candidates @ normal + offset
        points = np.vstack([points, candidates[np.abs(distance) >= margin]])
    X = points[:n]
    y = (X @ normal + offset > 0).astype(np.int64)
    if n >= 2 and y.min() == y.max():  # guarantee both classes: mirror one point across the plane
        X[0] -= 2 * (X[0] @ normal + offset) * normal
        y[0] = 1 - y[0]
    return X, _labels(y, signed)


def blobs(n: int = 100, *, centers=((-1.0, -1.0), (1.0, 1.0)), spread: float = 0.5, seed: int = 0,
          signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clouds, one per row of ``centers`` (shape ``(k, d)``), labelled 0 … k-1.

    Points are shared out between the clouds as evenly as possible. ``signed=True`` needs k = 2.
    Returns ``X`` of shape ``(n, d)`` and ``y`` of shape ``(n,)``. Far-apart centres with a small
    spread give separable data, but only ``linearly_separable`` guarantees it.
    """
    n = _positive_int("n", n)
    centers = np.asarray(centers, dtype=float)
    if centers.ndim != 2 or len(centers) < 2:
        raise ValueError(f"centers must have shape (k, d) with k >= 2, got shape {centers.shape}")
    if signed and len(centers) != 2:
        raise ValueError(f"signed labels need exactly 2 centers, got {len(centers)}")
    if spread < 0:
        raise ValueError(f"spread must be >= 0, got {spread!r}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(centers)
    X = centers[y] + spread * rng.normal(size=(n, centers.shape[1]))
    return X, _labels(y, signed)


def xor(n: int = 200, *, noise: float = 0.15, seed: int = 0,
        signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of the XOR truth table: points around the corners of the unit square.

    A point near (a, b) is labelled ``a XOR b``. Returns ``X`` of shape ``(n, 2)`` and ``y`` of
    shape ``(n,)``; no straight line separates the two classes.
    """
    n = _positive_int("n", n)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    corners = np.arange(n) % 4
    X = GATE_INPUTS[corners] + noise * rng.normal(size=(n, 2))
    y = np.array(GATE_OUTPUTS["xor"])[corners]
    return X, _labels(y, signed)
