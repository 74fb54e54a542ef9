"""Planted answers for lesson 05_loss_functions: correct answers written differently from the solution."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # torch in float64, the losses from torch.nn.functional, back to Python floats
    "regression_losses": '''import torch
import torch.nn.functional as F


def _tensors(y, t):
    return (torch.as_tensor(np.asarray(y, dtype=np.float64)), torch.as_tensor(np.asarray(t, dtype=np.float64)))


def sae(y, t):
    return F.l1_loss(*_tensors(y, t), reduction="sum").item()


def mae(y, t):
    return F.l1_loss(*_tensors(y, t)).item()


def sse(y, t):
    return F.mse_loss(*_tensors(y, t), reduction="sum").item()


def mse(y, t):
    return F.mse_loss(*_tensors(y, t)).item()


def rmse(y, t):
    return mse(y, t) ** 0.5
''',
    # plain Python loops over the flattened entries
    "loss_gradients": '''def mae_grad(y, t):
    y, t = as_pair(y, t)
    flat_y, flat_t = y.ravel(), t.ravel()
    out = np.zeros(flat_y.shape)
    for i in range(flat_y.size):
        if flat_y[i] > flat_t[i]:
            out[i] = 1.0 / flat_y.size
        elif flat_y[i] < flat_t[i]:
            out[i] = -1.0 / flat_y.size
    return out.reshape(y.shape)


def mse_grad(y, t):
    y, t = as_pair(y, t)
    return np.array([2.0 * (a - b) / y.size for a, b in zip(y.ravel(), t.ravel())]).reshape(y.shape)
''',
    # a loop that fills a zero matrix, with its own checks
    "one_hot": '''def one_hot(labels, n_classes=None):
    values = [float(v) for v in np.asarray(labels).ravel()]
    if any(v != int(v) for v in values):
        raise ValueError("labels must be whole numbers")
    values = [int(v) for v in values]
    if min(values) < 0:
        raise ValueError("labels must be >= 0")
    K = max(values) + 1 if n_classes is None else int(n_classes)
    if max(values) >= K:
        raise ValueError("labels must be below n_classes")
    out = np.zeros((len(values), K), dtype=np.int64)
    for row, label in enumerate(values):
        out[row, label] = 1
    return out
''',
    # scipy's logsumexp and take_along_axis
    "cross_entropy_from_logits": '''from scipy.special import logsumexp


def cross_entropy_from_logits(z, labels):
    z = np.asarray(z, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    picked = np.take_along_axis(z, labels[:, None], axis=1)[:, 0]
    return float(np.mean(logsumexp(z, axis=1) - picked))
''',
    # torch's binary_cross_entropy on the clipped probabilities; the gradient by autograd through clamp
    "binary_cross_entropy": '''import torch


def binary_cross_entropy(y, t, eps=1e-7):
    y_c = torch.as_tensor(np.asarray(y, dtype=np.float64)).clamp(eps, 1 - eps)
    t_ = torch.as_tensor(np.asarray(t, dtype=np.float64))
    return float(-(t_ * torch.log(y_c) + (1 - t_) * torch.log(1 - y_c)).mean())


def binary_cross_entropy_grad(y, t, eps=1e-7):
    y_ = torch.tensor(np.asarray(y, dtype=np.float64), requires_grad=True)
    t_ = torch.as_tensor(np.asarray(t, dtype=np.float64))
    y_c = y_.clamp(eps, 1 - eps)
    loss = -(t_ * torch.log(y_c) + (1 - t_) * torch.log(1 - y_c)).mean()
    loss.backward()
    return y_.grad.numpy()
''',
}

# plausible wrong answers -> (the cell, the test cells that must fail)
MISTAKES = {
    # the gradient with the target first: points uphill
    "loss_gradients": ('''def mae_grad(y, t):
    y, t = as_pair(y, t)
    return np.sign(t - y) / y.size


def mse_grad(y, t):
    y, t = as_pair(y, t)
    return 2.0 * (t - y) / y.size
''', ["loss_gradients_tests"]),
    # numpy's negative indexing accepted: a label of -1 lands in the last column
    "one_hot": ('''def one_hot(labels, n_classes=None):
    labels = np.asarray(labels).astype(int)
    K = int(labels.max()) + 1 if n_classes is None else int(n_classes)
    return np.eye(K, dtype=int)[labels]
''', ["one_hot_tests"]),
    # the naive softmax: overflows for large logits
    "cross_entropy_from_logits": ('''def cross_entropy_from_logits(z, labels):
    z = np.asarray(z, dtype=float)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(np.mean(-np.log(p[np.arange(len(z)), np.asarray(labels)])))
''', ["cross_entropy_from_logits_tests"]),
}
