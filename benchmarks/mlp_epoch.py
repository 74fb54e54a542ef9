"""Time one training epoch of the same MLP on the digits: numpy, torch on the CPU, and torch on CUDA when present.

    .venv/bin/python benchmarks/mlp_epoch.py                          # lesson 08's network: 64-64-10, batches of 16
    .venv/bin/python benchmarks/mlp_epoch.py --hidden 1024 --batch-size 256

The network is lesson 08's: x (64 pixels) -> relu(x W1^T + b1) -> logits, softmax cross-entropy, plain mini-batch
SGD, the same batches in every backend. Before timing, torch on each device trains one epoch from numpy's starting
weights and must end with numpy's weights (np.allclose). Each backend runs one warm-up epoch, then ``--repeats`` timed
epochs; the table shows the median in milliseconds and each backend's time relative to numpy (below 1: faster than
numpy). ``make bench`` shows this workload through backends.py, next to a convolution.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from nnlab import datasets
from nnlab.backend import set_seed


def numpy_epoch(params: dict, X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, lr: float) -> None:
    """One epoch of SGD on the ReLU MLP in numpy, updating ``params`` in place (X: (N, d), y: (N,)).

    Weights in the course's layout, W of shape (n_out, n_in): W1 (hidden, 64), W2 (10, hidden).
    """
    for start in range(0, len(X), batch_size):
        index = order[start:start + batch_size]
        xb, yb = X[index], y[index]
        hidden = np.maximum(xb @ params["W1"].T + params["b1"], 0.0)
        logits = hidden @ params["W2"].T + params["b2"]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        probs[np.arange(len(yb)), yb] -= 1.0                  # d loss / d logits, times the batch size
        d_logits = probs / len(yb)
        d_hidden = (d_logits @ params["W2"]) * (hidden > 0)
        params["W2"] -= lr * d_logits.T @ hidden
        params["b2"] -= lr * d_logits.sum(axis=0)
        params["W1"] -= lr * d_hidden.T @ xb
        params["b1"] -= lr * d_hidden.sum(axis=0)


def torch_epoch(model: nn.Module, optimizer, X: torch.Tensor, y: torch.Tensor, order: torch.Tensor,
                batch_size: int) -> None:
    """One epoch of SGD in torch; X, y and order live on the model's device."""
    loss_fn = nn.CrossEntropyLoss()
    for start in range(0, len(X), batch_size):
        index = order[start:start + batch_size]
        optimizer.zero_grad()
        loss_fn(model(X[index]), y[index]).backward()
        optimizer.step()


def median_ms(run, repeats: int, synchronize=lambda: None) -> float:
    """Median wall time of ``run()`` in milliseconds, after one warm-up run."""
    run()
    synchronize()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        synchronize()  # CUDA work is asynchronous: wait for it before stopping the clock
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def torch_rows(threads: list[int]) -> list[tuple[str, torch.device, int]]:
    """(label, device, CPU threads) of each torch row: the CPU with each thread count, then CUDA when present."""
    rows = [(f"torch CPU, {n} thread{'s' if n > 1 else ''}", torch.device("cpu"), n) for n in threads]
    if torch.cuda.is_available():
        rows.append((f"torch CUDA, {torch.cuda.get_device_name(0)}", torch.device("cuda"), max(threads)))
    return rows


def time_torch(run, where: torch.device, threads: int, repeats: int) -> float:
    """median_ms of run() with torch on ``threads`` CPU threads, waiting for the GPU when ``where`` is CUDA."""
    torch.set_num_threads(threads)
    return median_ms(run, repeats, torch.cuda.synchronize if where.type == "cuda" else (lambda: None))


def torch_mlp(params: dict, where: torch.device) -> nn.Module:
    """Lesson 08's network in torch, starting from numpy's weights (W1: (hidden, 64), W2: (10, hidden))."""
    hidden = params["W1"].shape[0]
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    with torch.no_grad():
        for layer, (W, b) in zip((model[0], model[2]), (("W1", "b1"), ("W2", "b2"))):
            layer.weight.copy_(torch.as_tensor(params[W]))   # nn.Linear keeps W as (out, in), as the course does
            layer.bias.copy_(torch.as_tensor(params[b]))
    return model.to(where)


def measure(hidden: int = 64, batch_size: int = 16, repeats: int = 5,
            threads: list[int] | None = None) -> tuple[str, list[tuple[str, float]]]:
    """A line naming the workload, and (backend, median ms per epoch) for numpy, then each of ``torch_rows``.

    Before timing, one epoch from the same weights over the same batches must end with the same weights in
    numpy and in torch on each device (float32, np.allclose): every row times the same computation.
    """
    rng = set_seed(0)
    (X, y), _ = datasets.digits(seed=0)                      # X: (1347, 64) float64, y: (1347,)
    order = rng.permutation(len(X))                           # the same batches for every backend
    lr = 0.1
    params = {"W1": rng.normal(0, np.sqrt(2 / 64), size=(hidden, 64)), "b1": np.zeros(hidden),   # He initialisation
              "W2": rng.normal(0, np.sqrt(2 / hidden), size=(10, hidden)), "b2": np.zeros(10)}
    X32 = X.astype(np.float32)                               # torch trains in float32: give numpy the same
    params32 = {name: value.astype(np.float32) for name, value in params.items()}

    expected, trained = ({name: value.copy() for name, value in params32.items()} for _ in range(2))
    numpy_epoch(expected, X32, y, order, batch_size, lr)     # one epoch from params32: what torch must match
    rows = [(f"numpy {np.__version__}",
             median_ms(lambda: numpy_epoch(trained, X32, y, order, batch_size, lr), repeats))]
    for label, where, n_threads in torch_rows(threads or [torch.get_num_threads()]):
        model = torch_mlp(params32, where)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        Xt, yt, order_t = (torch.as_tensor(a, device=where) for a in (X32, y, order))
        epoch = lambda: torch_epoch(model, optimizer, Xt, yt, order_t, batch_size)  # noqa: E731
        epoch()                                               # the checked epoch, from numpy's starting weights
        got = {"W1": model[0].weight, "b1": model[0].bias, "W2": model[2].weight, "b2": model[2].bias}
        for name, value in got.items():
            assert np.allclose(value.detach().cpu().numpy(), expected[name], rtol=1e-3, atol=1e-5), \
                f"MLP epoch: {label} and numpy disagree on {name}"
        rows.append((label, time_torch(epoch, where, n_threads, repeats)))
    batches = -(-len(X) // batch_size)
    return f"MLP epoch ({len(X)} digits, 64-{hidden}-10, {batches} batches of {batch_size})", rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=64, help="hidden neurons (default 64, as in lesson 08)")
    parser.add_argument("--batch-size", type=int, default=16, help="mini-batch size (default 16)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per backend (default 5)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help=f"torch CPU threads (default {torch.get_num_threads()}; the lesson uses 1)")
    args = parser.parse_args()
    if min(args.hidden, args.batch_size, args.repeats, args.threads) < 1:
        parser.error("--hidden, --batch-size, --repeats and --threads must be positive")
    what, rows = measure(args.hidden, args.batch_size, args.repeats, [args.threads])
    print(f"{what}, float32, median of {args.repeats}")
    width = max(len(label) for label, _ in rows)
    print(f"{'backend':<{width}}  {'ms/epoch':>9}  {'× numpy':>8}")
    numpy_ms = rows[0][1]
    for label, ms in rows:
        print(f"{label:<{width}}  {ms:>9.1f}  {ms / numpy_ms:>8.2f}")
    if not torch.cuda.is_available():
        print("(no CUDA GPU visible: the CUDA row appears where torch sees one)")


if __name__ == "__main__":
    main()
