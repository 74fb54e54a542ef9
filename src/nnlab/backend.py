"""The CPU/GPU switch: which device torch code runs on, seeding, and array conversion.

torch is imported only inside the functions that need it, so that ``import nnlab`` stays fast
for the lessons that use numpy alone.
"""

from __future__ import annotations

import os
import random
import sys

import numpy as np

DEVICE_VARIABLE = "NNLAB_DEVICE"


def _torch():
    """Import torch on first use (it takes a second or two)."""
    import torch

    return torch


def device(name: str | None = None):
    """The ``torch.device`` a lesson should run on.

    The choice, first match wins:
      1. ``name`` when given (``"cpu"``, ``"cuda"``, ``"cuda:1"``…);
      2. the environment variable ``NNLAB_DEVICE``;
      3. ``"cuda"`` when a CUDA GPU is visible, else ``"cpu"``.

    Raises ``ValueError`` for a name torch does not know, and ``RuntimeError`` when CUDA is asked
    for on a machine without it (so a typo never falls back to the CPU silently).
    """
    torch = _torch()
    choice = name or os.environ.get(DEVICE_VARIABLE) or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(choice)
    except RuntimeError as error:
        raise ValueError(f"unknown device {choice!r}: expected 'cpu', 'cuda' or 'cuda:N'") from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        where = "argument" if name else f"{DEVICE_VARIABLE}={choice}"
        raise RuntimeError(f"{where} asks for CUDA, but torch sees no CUDA GPU on this machine")
    return chosen


def describe(name: str | None = None) -> str:
    """One line saying where torch code will run, e.g. ``cuda:0 (NVIDIA H100, torch 2.13.0)``."""
    torch = _torch()
    chosen = device(name)
    if chosen.type == "cuda":
        index = chosen.index if chosen.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)}, torch {torch.__version__})"
    return f"cpu ({torch.get_num_threads()} threads, torch {torch.__version__})"


def set_seed(seed: int = 0) -> np.random.Generator:
    """Seed python's ``random``, numpy's global generator and, if imported, torch (CPU and CUDA).

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``: prefer it to the global
    generator in new code. torch is seeded only when it is already imported, so that a numpy-only
    lesson does not pay for importing it: import torch first, then call ``set_seed``.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)  # seeds every CUDA device too
    return np.random.default_rng(seed)


def to_torch(array, device=None, dtype=None):
    """A numpy array (or anything ``np.asarray`` takes) as a torch tensor on ``device``.

    Floating-point arrays become ``float32`` unless ``dtype`` says otherwise, because that is what
    torch layers expect; integer and boolean arrays keep their type.
    """
    torch = _torch()
    values = np.asarray(array)
    if dtype is None and values.dtype.kind == "f":
        dtype = torch.float32
    return torch.as_tensor(values, dtype=dtype, device=device)


def to_numpy(tensor) -> np.ndarray:
    """A torch tensor (on any device, with or without grad) or array-like as a numpy array."""
    if hasattr(tensor, "detach"):
        return tensor.detach().cpu().numpy()
    return np.asarray(tensor)
