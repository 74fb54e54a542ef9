"""Planted answers for lesson 03_activation_functions: correct answers written differently from the solution, and
plausible wrong ones with the test cells each must fail (graded together, the model answers elsewhere)."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # the sigmoid written literally (numpy warns "overflow" at Net = -1000, and the answer is still right),
    # and its derivative by torch autograd
    "tl_sf": '''import torch


def tl(net, alpha=1.0, theta=0.0):
    return np.minimum(1.0, np.maximum(0.0, alpha * (np.asarray(net, dtype=float) + theta)))


def sf(net, alpha=1.0, theta=0.0):
    return 1.0 / (1.0 + np.exp(-alpha * (np.asarray(net, dtype=float) + theta)))


def sf_prime(net, alpha=1.0, theta=0.0):
    v = torch.tensor(np.asarray(net, dtype=float), requires_grad=True)
    torch.sigmoid(alpha * (v + theta)).sum().backward()
    return v.grad.numpy()
''',
    # other formulas: np.where, Heaviside, log1p, the tanh form of the sigmoid, softsign' = (1 - |softsign|)^2
    "relu_family": '''def relu(z):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, 0.0)


def relu_prime(z):
    return np.heaviside(np.asarray(z, dtype=float), 0.0)


def softplus(z):
    z = np.asarray(z, dtype=float)
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def softplus_prime(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def softsign(z):
    z = np.asarray(z, dtype=float)
    return z / (1.0 + np.abs(z))


def softsign_prime(z):
    return (1.0 - np.abs(softsign(z))) ** 2
''',
    # torch's own softmax on float64 tensors
    "softmax": '''import torch


def softmax(z):
    return torch.softmax(torch.as_tensor(np.asarray(z, dtype=float)), dim=-1).numpy()
''',
    # einsum for the batch of diagonals and outer products
    "softmax_jacobian": '''def softmax_jacobian(z):
    o = np.asarray(softmax(z), dtype=float)
    K = o.shape[-1]
    return np.einsum("...i,ij->...ij", o, np.eye(K)) - np.einsum("...i,...j->...ij", o, o)
''',
    # the matrices multiplied in one go, the bias pushed through the layers in a loop
    "collapse_linear": '''from functools import reduce


def collapse_linear(layers):
    Ws = [np.asarray(W, dtype=float) for W, _ in layers]
    W_xo = reduce(lambda total, W: W @ total, Ws[1:], Ws[0])
    b_xo = np.zeros(Ws[0].shape[0])
    for k, (W, b) in enumerate(layers):
        b_xo = (np.asarray(b, dtype=float) if k == 0 else Ws[k] @ b_xo + np.asarray(b, dtype=float))
    return W_xo, b_xo
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    "tl_sf": ('''def tl(net, alpha=1.0, theta=0.0):
    return np.clip(alpha * (np.asarray(net, dtype=float) + theta), 0.0, 1.0)


def sf(net, alpha=1.0, theta=0.0):
    return np.exp(-np.logaddexp(0.0, -alpha * (np.asarray(net, dtype=float) + theta)))


def sf_prime(net, alpha=1.0, theta=0.0):
    out = sf(net, alpha, theta)
    return out * (1.0 - out)  # the chain rule's alpha is missing
''', ["tl_sf_tests"]),
    "relu_family": ('''def relu(z):
    return np.maximum(np.asarray(z, dtype=float), 0.0)


def relu_prime(z):
    return (np.asarray(z, dtype=float) >= 0).astype(float)  # 1 at the kink


def softplus(z):
    return np.logaddexp(0.0, np.asarray(z, dtype=float))


def softplus_prime(z):
    return sf(z)


def softsign(z):
    z = np.asarray(z, dtype=float)
    return z / (np.abs(z) + 1.0)


def softsign_prime(z):
    return 1.0 / (1.0 + np.abs(np.asarray(z, dtype=float))) ** 2
''', ["relu_family_tests"]),
    "softmax": ('''def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max())  # one maximum for the whole batch
    return e / e.sum(axis=-1, keepdims=True)
''', ["softmax_tests"]),
    "softmax_jacobian": ('''def softmax_jacobian(z):
    o = softmax(z)
    return np.diag(o) - np.outer(o, o)  # one vector only
''', ["softmax_jacobian_tests"]),
    "collapse_linear": ('''def collapse_linear(layers):
    W_xo = np.eye(np.shape(layers[0][0])[1])
    b_xo = np.zeros(np.shape(layers[0][0])[1])
    for W, b in layers:
        W_xo, b_xo = W_xo @ np.asarray(W, dtype=float).T, b_xo @ np.asarray(W, dtype=float).T + b
    return W_xo, b_xo  # the transpose: shape (n_0, n_L)
''', ["collapse_linear_tests"]),
}
