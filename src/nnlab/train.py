"""A small torch training loop: mini-batches, the right device, a progress bar and a history.

    from nnlab import train
    history = train.fit(model, (X_train, y_train), torch.nn.CrossEntropyLoss(),
                        torch.optim.SGD(model.parameters(), lr=0.1), epochs=10,
                        valid=(X_test, y_test))
    plots.training_curve({"train": history["loss"], "test": history["valid_loss"]})

The lessons build every piece of this by hand first (the forward pass, the loss, back-propagation,
the mini-batch loop, an evaluation function); from then on they call ``fit`` so that the new idea
of the lesson stands out. torch is imported when this module is, never by ``import nnlab``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import DataLoader

from .backend import device as default_device

HISTORY_KEYS = ("loss", "accuracy", "valid_loss", "valid_accuracy")


def _tensor(values, name: str, *, labels: bool) -> torch.Tensor:
    """An array or tensor as a CPU-or-wherever tensor: floats become float32, labels stay integers."""
    if isinstance(values, torch.Tensor):
        tensor = values
    else:
        array = np.asarray(values)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")
        tensor = torch.as_tensor(array)
    if tensor.dtype == torch.float64 and not labels:
        tensor = tensor.float()  # torch layers are float32
    return tensor


class TensorBatches:
    """Mini-batches ``(X[idx], y[idx])`` of tensors held in memory, re-iterable once per epoch.

    What a ``DataLoader`` over a ``TensorDataset`` gives, without its cost of fetching and stacking
    samples one by one (which dominates for small models). Made by ``batches``.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool, seed: int):
        self.X, self.y, self.batch_size, self.shuffle = X, y, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)  # one stream: each epoch a new, reproducible order

    def __len__(self) -> int:
        return -(-len(self.X) // self.batch_size)

    def __iter__(self):
        n = len(self.X)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            index = order[start:start + self.batch_size]
            yield self.X[index.to(self.X.device)], self.y[index.to(self.y.device)]


def batches(X, y, *, batch_size: int = 64, shuffle: bool = False, seed: int = 0) -> TensorBatches:
    """Mini-batches of the pairs ``(X[i], y[i])``: an iterable of ``(inputs, targets)``, one pass per epoch.

    ``X`` has shape ``(n, ...)`` and ``y`` shape ``(n,)`` or ``(n, ...)`` (numpy arrays or tensors,
    on any device; batches stay where the data are). float64 inputs become float32, integer labels
    stay int64. With ``shuffle=True`` every pass has a new order, reproducibly for a given ``seed``.
    There are ``ceil(n / batch_size)`` batches; the last one may be smaller.
    """
    X, y = _tensor(X, "X", labels=False), _tensor(y, "y", labels=True)
    if X.ndim < 1 or len(X) == 0 or y.ndim < 1 or len(y) != len(X):
        raise ValueError(f"X must have shape (n, ...) with n >= 1 and y shape (n,) or (n, ...) with the same n, "
                         f"got X {tuple(X.shape)} and y {tuple(y.shape)}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return TensorBatches(X, y, int(batch_size), bool(shuffle), seed)


def _as_loader(data, name: str, batch_size: int, shuffle: bool, seed: int):
    """``data`` as an iterable of ``(inputs, targets)`` batches: a loader stays, a pair ``(X, y)`` is wrapped."""
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"{name} must be a DataLoader or a pair (X, y), got a sequence of {len(data)} items")
        return batches(*data, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, DataLoader) or hasattr(data, "__iter__"):
        return data
    raise ValueError(f"{name} must be a DataLoader or a pair (X, y) of arrays, got {type(data).__name__}")


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (or buffer); ``nnlab.backend.device()`` if it has none."""
    for tensor in [*model.parameters(), *model.buffers()]:
        return tensor.device
    return default_device()


def _correct(outputs: torch.Tensor, targets: torch.Tensor) -> int | None:
    """How many rows of ``outputs`` (n, k >= 2) have their largest score at the integer label in ``targets``."""
    if outputs.ndim == 2 and outputs.shape[1] >= 2 and targets.ndim == 1 and not targets.is_floating_point():
        return int((outputs.argmax(dim=1) == targets).sum())
    return None  # not a classification with class labels: no accuracy


def _pass(model, batches, loss_fn, device, optimizer=None) -> tuple[float, float | None]:
    """One pass over ``batches``: mean loss and accuracy (None when not defined); trains when given an optimizer."""
    total_loss, total_correct, seen = 0.0, 0, 0
    for inputs, targets in batches:
        inputs, targets = inputs.to(device), targets.to(device)
        if inputs.dtype == torch.float64:
            inputs = inputs.float()
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        n = len(inputs)
        total_loss += float(loss.detach()) * n  # the loss is a batch mean: weigh it by the batch size
        correct = _correct(outputs.detach(), targets)
        total_correct = None if correct is None or total_correct is None else total_correct + correct
        seen += n
    if seen == 0:
        raise ValueError("the data gave no batch: expected at least one (inputs, targets) pair")
    return total_loss / seen, (None if total_correct is None else total_correct / seen)


def evaluate(model: torch.nn.Module, data, loss, *, device=None, batch_size: int = 256) -> float:
    """The mean of ``loss`` over ``data``, computed in eval mode and without gradients.

    ``data`` is a DataLoader or a pair ``(X, y)`` (shapes ``(n, ...)`` and ``(n,)``, arrays or tensors on
    any device); batches go to ``device`` (default: where the model is). The model's train/eval mode is
    restored afterwards. Returns a float.
    """
    where = torch.device(device) if device is not None else model_device(model)
    was_training = model.training
    model.to(where).eval()
    try:
        with torch.no_grad():
            mean_loss, _ = _pass(model, _as_loader(data, "data", batch_size, False, 0), loss, where)
    finally:
        model.train(was_training)
    return mean_loss


def fit(model: torch.nn.Module, train, loss, optimizer: torch.optim.Optimizer, epochs: int, *, device=None,
        valid=None, batch_size: int = 64, shuffle: bool = True, seed: int = 0, progress: bool = True) -> dict:
    """Train ``model`` for ``epochs`` passes over ``train`` with mini-batch gradient descent.

    - ``train``: a DataLoader (or any re-iterable) of ``(inputs, targets)`` batches, or a pair ``(X, y)`` of arrays or tensors
      (``X`` of shape ``(n, ...)``, ``y`` of shape ``(n,)``) cut into batches of ``batch_size``, shuffled
      every epoch (reproducibly, from ``seed``) when ``shuffle`` is true.
    - ``loss``: a callable ``loss(outputs, targets)`` returning the batch's mean loss, such as
      ``torch.nn.CrossEntropyLoss()``; ``optimizer``: built on ``model.parameters()``.
    - ``device``: where to train; the model is moved there. By default, where the model already is.
      Every batch is moved to that device, so the data may live anywhere.
    - ``valid``: optional held-out data (a DataLoader or ``(X, y)``), evaluated after each epoch in eval
      mode without gradients.
    - ``progress``: show a progress bar (``tqdm.auto``) over the epochs with the latest figures.

    Returns the history, a dict of lists with one entry per epoch: ``loss`` (mean training loss over the
    epoch, measured while the weights change) and ``accuracy`` (fraction of training samples whose
    largest output was the label, for a classifier with outputs ``(n, k)`` and integer labels; absent
    otherwise), plus ``valid_loss`` and ``valid_accuracy`` when ``valid`` is given. Training stops early,
    with a message, if the loss becomes NaN or infinite. The model is left in the train/eval mode it was in.
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    where = torch.device(device) if device is not None else model_device(model)
    model.to(where)
    train_batches = _as_loader(train, "train", batch_size, shuffle, seed)
    valid_batches = None if valid is None else _as_loader(valid, "valid", max(batch_size, 256), False, 0)
    history: dict[str, list] = {"loss": [], **({"valid_loss": []} if valid is not None else {})}
    was_training = model.training
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(epochs), desc="epochs", unit="epoch", leave=True)
    try:
        for _ in range(int(epochs)):
            model.train()
            figures = dict(zip(("loss", "accuracy"), _pass(model, train_batches, loss, where, optimizer)))
            if valid_batches is not None:
                model.eval()
                with torch.no_grad():
                    figures.update(zip(("valid_loss", "valid_accuracy"), _pass(model, valid_batches, loss, where)))
            for key in HISTORY_KEYS:
                if key in figures and figures[key] is not None:
                    history.setdefault(key, []).append(figures[key])
            if not math.isfinite(figures["loss"]):
                if bar is not None:
                    bar.write(f"training loss became {figures['loss']}: stopping (try a smaller learning rate)")
                break
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in figures.items() if v is not None}, refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)
    return {key: history[key] for key in HISTORY_KEYS if key in history}
