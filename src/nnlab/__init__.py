"""nnlab: the helpers every lesson of the course imports.

Rooms (each a module, loaded on first use so that ``import nnlab`` stays fast and never imports
torch or matplotlib by itself):

- ``nnlab.backend``   device choice (CPU/GPU), seeding, numpy <-> torch
- ``nnlab.check``     comparisons for self-check cells, with helpful failure messages
- ``nnlab.datasets``  small generated data sets (logic gates, separable clouds, XOR)
- ``nnlab.plots``     decision boundaries, training curves
- ``nnlab.gradcheck`` numerical gradients and relative errors
- ``nnlab.widgets``   interactive explorers (sliders, menus) with a static fallback
- ``nnlab.train``     a torch training loop: mini-batches, device, progress bar, history

Helpers are infrastructure: no graded exercise has its answer in here.
"""

from importlib import import_module

__version__ = "0.2.0"
__all__ = ["backend", "check", "datasets", "gradcheck", "plots", "widgets", "train"]


def __getattr__(name: str):
    if name in __all__:
        module = import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'nnlab' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
