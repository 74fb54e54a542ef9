"""numpy against torch (CPU, and CUDA when present) on the same two computations, as time ratios from one run.

    make bench        (or: .venv/bin/python benchmarks/backends.py [--repeats 7] [--threads 1 2])

1. One training epoch of lesson 08's MLP on the digits (mlp_epoch.py: 64-64-10, ReLU, SGD, batches of 16).
2. One convolutional layer, forward and backward: the layer lesson 12 times in its section 7, a batch of
   16 images of 3 channels × 28×28 pixels, 16 filters of 3×3, padding 1, stride 1, and a bias. Forward
   gives Y (16, 16, 28, 28); backward, for a fixed upstream gradient dL/dY, gives dL/dx, dL/dW and dL/db.
   numpy computes it as a student of lesson 12 writes it: im2col with k² strided slices and one matrix
   product forward; backward the transposed products and col2im (the "Go further" of the lesson).
   torch computes it with torch.nn.functional.conv2d and autograd.

Everything is float32, on a GPU too (cuDNN's default TF32 is switched off). Before any timing, each
torch backend's results (weights after the epoch; Y and the three gradients of the layer) must match
numpy's (np.allclose), so each row times the same computation. A figure is the median of --repeats
runs after one warm-up run; "× numpy" is the time over numpy's (below 1: faster than numpy). torch on
the CPU runs with 1 thread, as the lessons set it, and with all of its default threads.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

import mlp_epoch
from mlp_epoch import median_ms, time_torch, torch_rows

N, C_IN, SIDE, C_OUT, K, PADDING, STRIDE = 16, 3, 28, 16, 3, 1, 1   # lesson 12's "How much faster?" layer


def out_side(n: int, k: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - k) // stride + 1


def im2col(x: np.ndarray, k: int, stride: int, padding: int) -> np.ndarray:
    """The receptive fields as columns: x (N, C, H, W) -> (N, C * k * k, H_out * W_out), in F.unfold's order."""
    n, c, h, w = x.shape
    h_out, w_out = out_side(h, k, stride, padding), out_side(w, k, stride, padding)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((n, c, k, k, h_out, w_out), dtype=x.dtype)
    for m in range(k):                 # one strided slice per offset inside the filter: k * k copies in all
        for q in range(k):
            cols[:, :, m, q] = x_pad[:, :, m:m + stride * h_out:stride, q:q + stride * w_out:stride]
    return cols.reshape(n, c * k * k, h_out * w_out)


def col2im(d_cols: np.ndarray, x_shape: tuple, k: int, stride: int, padding: int) -> np.ndarray:
    """im2col's transpose: adds each column entry back onto its pixel. (N, C * k * k, L) -> (N, C, H, W)."""
    n, c, h, w = x_shape
    h_out, w_out = out_side(h, k, stride, padding), out_side(w, k, stride, padding)
    d_cols = d_cols.reshape(n, c, k, k, h_out, w_out)
    d_pad = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=d_cols.dtype)
    for m in range(k):
        for q in range(k):
            d_pad[:, :, m:m + stride * h_out:stride, q:q + stride * w_out:stride] += d_cols[:, :, m, q]
    return d_pad[:, :, padding:padding + h, padding:padding + w]


def numpy_conv(x, weight, bias, d_out, stride=STRIDE, padding=PADDING) -> tuple[np.ndarray, ...]:
    """Forward and backward of one conv layer in numpy.

    x: (N, C_in, H, W); weight: (C_out, C_in, k, k); bias: (C_out,); d_out = dL/dY: (N, C_out, H_out, W_out).
    Returns Y (N, C_out, H_out, W_out), dL/dx (N, C_in, H, W), dL/dW (C_out, C_in, k, k), dL/db (C_out,).
    """
    c_out, k = weight.shape[0], weight.shape[-1]
    w_row = weight.reshape(c_out, -1)                              # (C_out, C_in k²)
    cols = im2col(x, k, stride, padding)                           # (N, C_in k², L)
    y = (w_row @ cols + bias[:, None]).reshape(d_out.shape)        # (N, C_out, L) -> (N, C_out, H_out, W_out)
    delta = d_out.reshape(len(x), c_out, -1)                       # (N, C_out, L)
    d_weight = np.tensordot(delta, cols, axes=([0, 2], [0, 2]))    # (C_out, C_in k²): sum over images and positions
    d_x = col2im(w_row.T @ delta, x.shape, k, stride, padding)     # (C_in k², C_out) @ (N, C_out, L), back to pixels
    return y, d_x, d_weight.reshape(weight.shape), delta.sum(axis=(0, 2))


def torch_conv(x, weight, bias, d_out, stride=STRIDE, padding=PADDING) -> tuple[torch.Tensor, ...]:
    """The same with F.conv2d and autograd; x, weight, bias are leaf tensors with requires_grad."""
    for leaf in (x, weight, bias):
        leaf.grad = None
    y = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    y.backward(d_out)                                              # dL/dY = d_out, i.e. L = sum(Y * d_out)
    return y, x.grad, weight.grad, bias.grad


def same(got: torch.Tensor, expected: np.ndarray) -> bool:
    """float32 agreement, the tolerance scaled to the array's size (a gradient sums thousands of terms)."""
    return np.allclose(got.detach().cpu().numpy(), expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def measure_conv(repeats: int, threads: list[int]) -> tuple[str, list[tuple[str, float]]]:
    """A line naming the workload, and (backend, median ms of forward + backward) for numpy, then each torch row."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, C_IN, SIDE, SIDE)).astype(np.float32)
    weight = rng.normal(0, 1 / np.sqrt(C_IN * K * K), size=(C_OUT, C_IN, K, K)).astype(np.float32)
    bias = rng.normal(size=C_OUT).astype(np.float32)
    side = out_side(SIDE, K, STRIDE, PADDING)
    d_out = rng.normal(size=(N, C_OUT, side, side)).astype(np.float32)

    expected = numpy_conv(x, weight, bias, d_out)
    rows = [(f"numpy {np.__version__}", median_ms(lambda: numpy_conv(x, weight, bias, d_out), repeats))]
    for label, where, n_threads in torch_rows(threads):
        xt, wt, bt = (torch.tensor(a, device=where, requires_grad=True) for a in (x, weight, bias))
        dt = torch.tensor(d_out, device=where)
        step = lambda: torch_conv(xt, wt, bt, dt)  # noqa: E731
        for name, got, want in zip(("Y", "dL/dx", "dL/dW", "dL/db"), step(), expected):
            assert same(got, want), f"convolution: {label} and numpy disagree on {name}"
        rows.append((label, time_torch(step, where, n_threads, repeats)))
    what = f"conv {K}x{K} fwd+bwd ({N} x {C_IN}x{SIDE}x{SIDE} -> {C_OUT} maps, pad {PADDING})"
    return what, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per backend (default 7)")
    parser.add_argument("--threads", type=int, nargs="+", default=sorted({1, torch.get_num_threads()}),
                        help=f"torch CPU thread counts, one row each (default: 1 and {torch.get_num_threads()})")
    args = parser.parse_args()
    if min(args.repeats, *args.threads) < 1:
        parser.error("--repeats and --threads must be positive")
    default_threads = torch.get_num_threads()
    torch.backends.cudnn.conv.fp32_precision = "ieee"   # on a GPU, float32 too: cuDNN's default TF32 is coarser
    workloads = [mlp_epoch.measure(repeats=args.repeats, threads=args.threads),
                 measure_conv(args.repeats, args.threads)]
    torch.set_num_threads(default_threads)

    print(f"numpy against torch, float32, same results checked first (np.allclose); median of {args.repeats} "
          f"after a warm-up; × numpy: time / numpy's")
    width = max(len(what) for what, _ in workloads)
    label_width = max(len(label) for _, rows in workloads for label, _ in rows)
    print(f"{'workload':<{width}}  {'backend':<{label_width}}  {'ms':>8}  {'× numpy':>7}")
    for what, rows in workloads:
        numpy_ms = rows[0][1]
        for i, (label, ms) in enumerate(rows):
            print(f"{what if i == 0 else '':<{width}}  {label:<{label_width}}  {ms:>8.2f}  {ms / numpy_ms:>7.2f}")
    if not torch.cuda.is_available():
        print("no CUDA GPU: the CUDA rows skipped")


if __name__ == "__main__":
    main()
