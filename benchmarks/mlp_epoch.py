"""Time one training epoch of the same MLP on the digits: numpy, torch on the CPU, and torch on CUDA when present.

    .venv/bin/python benchmarks/mlp_epoch.py                          # lesson 08's network: 64-64-10, batches of 16
    .venv/bin/python benchmarks/mlp_epoch.py --hidden 1024 --batch-size 256

The network is lesson 08's: x (64 pixels) -> tanh(x W1 + b1) -> logits, softmax cross-entropy, plain mini-batch
SGD, the same batches in every backend. Each backend runs one warm-up epoch, then ``--repeats`` timed epochs; the
table shows the median in milliseconds and each backend's time relative to numpy (below 1: faster than numpy).
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
    """One epoch of SGD on the tanh MLP in numpy, updating ``params`` in place (X: (N, d), y: (N,))."""
    for start in range(0, len(X), batch_size):
        index = order[start:start + batch_size]
        xb, yb = X[index], y[index]
        hidden = np.tanh(xb @ params["W1"] + params["b1"])
        logits = hidden @ params["W2"] + params["b2"]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        probs[np.arange(len(yb)), yb] -= 1.0                  # d loss / d logits, times the batch size
        d_logits = probs / len(yb)
        d_hidden = (d_logits @ params["W2"].T) * (1.0 - hidden ** 2)
        params["W2"] -= lr * hidden.T @ d_logits
        params["b2"] -= lr * d_logits.sum(axis=0)
        params["W1"] -= lr * xb.T @ d_hidden
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
    torch.set_num_threads(args.threads)
    rng = set_seed(0)
    (X, y), _ = datasets.digits(seed=0)
    order = rng.permutation(len(X))                           # the same batches for every backend
    lr = 0.1

    params = {"W1": rng.normal(0, 1 / 8, size=(64, args.hidden)), "b1": np.zeros(args.hidden),
              "W2": rng.normal(0, 1 / np.sqrt(args.hidden), size=(args.hidden, 10)), "b2": np.zeros(10)}
    X32 = X.astype(np.float32)                               # torch trains in float32: give numpy the same
    params32 = {name: value.astype(np.float32) for name, value in params.items()}
    rows = [(f"numpy (float32, {np.__version__})",
             median_ms(lambda: numpy_epoch(params32, X32, y, order, args.batch_size, lr), args.repeats))]

    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for where in devices:
        model = nn.Sequential(nn.Linear(64, args.hidden), nn.Tanh(), nn.Linear(args.hidden, 10)).to(where)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        Xt, yt = torch.as_tensor(X32, device=where), torch.as_tensor(y, device=where)
        order_t = torch.as_tensor(order, device=where)
        sync = torch.cuda.synchronize if where.type == "cuda" else (lambda: None)
        label = (f"torch CPU ({args.threads} thread{'s' if args.threads > 1 else ''})" if where.type == "cpu"
                 else f"torch CUDA ({torch.cuda.get_device_name(0)})")
        rows.append((label, median_ms(lambda: torch_epoch(model, optimizer, Xt, yt, order_t, args.batch_size),
                                      args.repeats, sync)))

    batches = -(-len(X) // args.batch_size)
    print(f"one epoch on digits: {len(X)} images, MLP 64-{args.hidden}-10, {batches} batches of {args.batch_size}, "
          f"median of {args.repeats}")
    width = max(len(label) for label, _ in rows)
    print(f"{'backend':<{width}}  {'ms/epoch':>9}  {'× numpy':>8}")
    numpy_ms = rows[0][1]
    for label, ms in rows:
        print(f"{label:<{width}}  {ms:>9.1f}  {ms / numpy_ms:>8.2f}")
    if len(devices) == 1:
        print("(no CUDA GPU visible: the CUDA row appears where torch sees one)")


if __name__ == "__main__":
    main()
