"""Planted answers for lesson 10_normalization: correct answers written differently from the solution."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # a pure-Python loop for the statistics, and in-place arithmetic on a copy
    'standardizer': '''def fit_standardizer(X):
    rows = [[float(v) for v in row] for row in np.asarray(X).tolist()]
    n, d = len(rows), len(rows[0])
    mean = np.array([sum(r[j] for r in rows) / n for j in range(d)])
    std = np.array([(sum((r[j] - mean[j]) ** 2 for r in rows) / n) ** 0.5 for j in range(d)])
    std[std == 0] = 1.0
    return mean, std


def standardize(X, mean, std):
    out = np.array(X, dtype=float)      # a copy
    out -= mean
    out /= std
    return out
''',
    # a loop over the units, the statistics written out
    'bn_train': '''def batchnorm_forward_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """A loop over the units, with the statistics written out by hand."""
    x = np.array(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError("batchnorm_forward_train needs a batch of shape (N, D) with N >= 2")
    n, d = x.shape
    y, new_mean, new_var = np.empty((n, d)), np.empty(d), np.empty(d)
    for j in range(d):
        column = x[:, j]
        mu = sum(column) / n
        var = sum((column - mu) ** 2) / n
        y[:, j] = gamma[j] * (column - mu) / (var + eps) ** 0.5 + beta[j]
        new_mean[j] = (1 - momentum) * running_mean[j] + momentum * mu
        new_var[j] = (1 - momentum) * running_var[j] + momentum * var * n / (n - 1)
    return y, new_mean, new_var
''',
    # torch's functional batch norm with training=False; torch warns about copy-constructing a tensor
    'bn_eval': '''def batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """torch's functional batch norm in evaluation mode; copy-constructing a tensor makes torch warn (harmless)."""
    as64 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))
    x_t = torch.tensor(as64(x))
    out = torch.nn.functional.batch_norm(x_t, as64(running_mean), as64(running_var), as64(gamma), as64(beta),
                                         training=False, eps=eps)
    return out.numpy()
''',
    # the staged pass one column at a time (a loop)
    'bn_backward_staged': '''def batchnorm_backward_staged(dout, cache):
    """Node by node, one column at a time (a loop, slower but the same graph)."""
    dout = np.asarray(dout, dtype=float)
    n, d = dout.shape
    dx = np.zeros((n, d))
    dgamma, dbeta = np.zeros(d), np.zeros(d)
    for j in range(d):
        g, xc, s, inv = cache["gamma"][j], cache["xc"][:, j], cache["std"][j], cache["inv_std"][j]
        dbeta[j] = dout[:, j].sum()
        dgamma[j] = (dout[:, j] * cache["x_hat"][:, j]).sum()
        dxh = dout[:, j] * g
        dinv = (dxh * xc).sum()
        dxc = dxh * inv
        ds = -dinv / s ** 2
        dv = ds * 0.5 / s
        dxc = dxc + dv * 2.0 * xc / n
        dmu = -dxc.sum()
        dx[:, j] = dxc + dmu / n
    return dx, {"gamma": dgamma, "beta": dbeta}
''',
    # the N-form of the compact formula, with einsum
    'bn_backward': '''def batchnorm_backward(dout, cache):
    x_hat, n = cache["x_hat"], len(cache["x_hat"])
    dx_hat = np.multiply(dout, cache["gamma"])
    dx = (n * dx_hat - dx_hat.sum(0) - x_hat * np.einsum("ij,ij->j", dx_hat, x_hat)) / (n * cache["std"])
    return dx, {"beta": np.sum(dout, axis=0), "gamma": np.einsum("ij,ij->j", dout, x_hat)}
''',
    # batch norm of the transpose, with a dict cache
    'layernorm': '''def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Batch norm of the transpose, then the per-unit scale and shift."""
    xt = np.asarray(x, dtype=float).T                 # (D, N): a row of x is now a column
    mu = xt.mean(axis=0)
    std = np.sqrt(((xt - mu) ** 2).mean(axis=0) + eps)
    x_hat = ((xt - mu) / std).T
    return x_hat * gamma + beta, {"x_hat": x_hat, "std": std, "gamma": np.array(gamma, dtype=float)}


def layernorm_backward(dout, cache):
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    dxh = (dout * gamma).T
    xh = x_hat.T
    dx = ((dxh - dxh.mean(axis=0) - xh * (dxh * xh).mean(axis=0)) / std).T
    return dx, {"gamma": (dout * x_hat).sum(axis=0), "beta": dout.sum(axis=0)}
''',
    # einsum, np.where and a one-hot matrix, with dict caches
    'layers': '''def affine_forward(x, W, b):
    x = np.asarray(x, dtype=float)
    return np.einsum("ni,oi->no", x, W) + b, {"x": x, "W": np.asarray(W, dtype=float)}


def affine_backward(dout, cache):
    return np.einsum("no,oi->ni", dout, cache["W"]), {"W": np.einsum("no,ni->oi", dout, cache["x"]), "b": np.sum(dout, axis=0)}


def relu_forward(x):
    x = np.asarray(x, dtype=float)
    mask = x > 0
    return np.where(mask, x, 0.0), mask


def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0)


def softmax_cross_entropy(logits, t):
    z = np.asarray(logits, dtype=float)
    t = np.asarray(t).astype(int)
    log_p = z - (z.max(axis=1, keepdims=True) + np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)))
    onehot = np.eye(z.shape[1])[t]
    return float(-(onehot * log_p).sum() / len(t)), (np.exp(log_p) - onehot) / len(t)
''',
    # a recursive network: each block calls the rest, then back-propagates through itself
    'network_loss': '''def network_loss(params, X, t, layers, bn="before", eps=1e-5):
    """A recursive version: each block calls the rest of the network, then back-propagates through itself."""
    (af, ab), (rf, rb), (nf, nb) = layers["affine"], layers["relu"], layers["batchnorm"]
    L = len([k for k in params if k[0] == "W"]) - 1
    grads = {}

    def block(h, l):
        if l == L + 1:
            logits, cache = af(h, params[f"W{l}"], params[f"b{l}"])
            loss, dlogits = layers["loss"](logits, t)
            dh, g = ab(dlogits, cache)
            grads[f"W{l}"], grads[f"b{l}"] = g["W"], g["b"]
            return loss, dh
        z, ca = af(h, params[f"W{l}"], params[f"b{l}"])
        if bn == "before":
            z, cb = nf(z, params[f"gamma{l}"], params[f"beta{l}"], eps)
        a, cr = rf(z)
        if bn == "after":
            a, cb = nf(a, params[f"gamma{l}"], params[f"beta{l}"], eps)
        loss, da = block(a, l + 1)
        if bn == "after":
            da, g = nb(da, cb)
            grads[f"gamma{l}"], grads[f"beta{l}"] = g["gamma"], g["beta"]
        dz = rb(da, cr)
        if bn == "before":
            dz, g = nb(dz, cb)
            grads[f"gamma{l}"], grads[f"beta{l}"] = g["gamma"], g["beta"]
        dh, g = ab(dz, ca)
        grads[f"W{l}"], grads[f"b{l}"] = g["W"], g["b"]
        return loss, dh

    loss, _ = block(np.asarray(X, dtype=np.float64), 1)
    return float(loss), grads
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    # standardize works in place: X -= mean writes into the caller's array
    'standardizer': ('''def fit_standardizer(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=0)
    return X.mean(axis=0), np.where(std > 0, std, 1.0)


def standardize(X, mean, std):
    X = np.asarray(X, dtype=float)
    X -= mean
    X /= std
    return X
''', ['standardizer_tests']),
    # Keras's momentum convention (momentum weighs the OLD value)
    'bn_train': ('''def batchnorm_forward_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    x = np.asarray(x, dtype=float)
    if x.shape[0] < 2:
        raise ValueError("N < 2")
    mean, var, n = x.mean(axis=0), x.var(axis=0), x.shape[0]
    y = (x - mean) / np.sqrt(var + eps) * gamma + beta
    return y, momentum * running_mean + (1 - momentum) * mean, momentum * running_var + (1 - momentum) * var * n / (n - 1)
''', ['bn_train_tests']),
    # the batch's own statistics in evaluation mode
    'bn_eval': ('''def batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    x = np.asarray(x, dtype=float)
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) * gamma + beta
''', ['bn_eval_tests']),
    # the path through the mean is missing
    'bn_backward_staged': ('''def batchnorm_backward_staged(dout, cache):
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * cache["x_hat"]).sum(axis=0)
    dx_hat = dout * cache["gamma"]
    dxc = dx_hat * cache["inv_std"]
    dinv_std = (dx_hat * cache["xc"]).sum(axis=0)
    dstd = -dinv_std / cache["std"] ** 2
    dvar = dstd / (2 * cache["std"])
    dxc = dxc + dvar * 2 * cache["xc"] / n
    return dxc, {"gamma": dgamma, "beta": dbeta}
''', ['bn_backward_staged_tests']),
    # mu and sigma treated as constants: the direct path only
    'bn_backward': ('''def batchnorm_backward(dout, cache):
    return dout * cache["gamma"] / cache["std"], {"gamma": (dout * cache["x_hat"]).sum(axis=0), "beta": dout.sum(axis=0)}
''', ['bn_backward_tests']),
    # each column normalised over the batch: batch norm, not layer norm
    'layernorm': ('''def layernorm_forward(x, gamma, beta, eps=1e-5):
    x = np.asarray(x, dtype=float)
    mu, std = x.mean(axis=0), np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mu) / std
    return x_hat * gamma + beta, (x_hat, std, gamma)


def layernorm_backward(dout, cache):
    x_hat, std, gamma = cache
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, {"gamma": (dout * x_hat).sum(axis=0), "beta": dout.sum(axis=0)}
''', ['layernorm_tests']),
    # relu_backward passes the gradient at x = 0
    'layers': ('''def affine_forward(x, W, b):
    """Dense layer: x (N, n_in), W (n_out, n_in), b (n_out,) -> (out (N, n_out), cache)."""
    x = np.asarray(x, dtype=float)
    return x @ W.T + b, (x, W)


def affine_backward(dout, cache):
    """dout = dL/dout (N, n_out) -> (dx (N, n_in), {"W": dW (n_out, n_in), "b": db (n_out,)})."""
    x, W = cache
    return dout @ W, {"W": dout.T @ x, "b": dout.sum(axis=0)}


def relu_forward(x):
    """max(x, 0) elementwise: x (any shape S) -> (out (S), cache)."""
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """dout (S) -> dx (S): dout where the input was > 0, and 0 elsewhere (also at exactly 0)."""
    return dout * (cache >= 0)


def softmax_cross_entropy(logits, t):
    """Mean cross-entropy of softmax(logits) for labels t: logits (N, K), t (N,) -> (loss float, dlogits (N, K))."""
    z = np.asarray(logits, dtype=float)
    t = np.asarray(t, dtype=int)
    n = len(t)
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dlogits = np.exp(log_p)
    dlogits[np.arange(n), t] -= 1.0                      # P - T, without building T
    return float(-log_p[np.arange(n), t].mean()), dlogits / n
    ### END SOLUTION
''', ['layers_tests']),
    # batch norm on the wrong side of the ReLU
    'network_loss': ('''def network_loss(params, X, t, layers, bn="before", eps=1e-5):
    """Loss and gradients of L hidden blocks [affine, batch norm, ReLU in the order bn says] and an affine output
    layer, with softmax cross-entropy, batch norm in training mode, built from the given layers.

    params: "W1", "b1", ..., "W{L+1}", "b{L+1}" (W_l of shape (H_l, H_{l-1})) and, unless bn is None, "gamma1",
    "beta1", ..., "gamma{L}", "beta{L}" of shape (H_l,).  X: (N, D).  t: (N,) integer labels.
    layers: {"affine": (forward, backward), "relu": (forward, backward), "batchnorm": (forward, backward), "loss": loss}.
    bn: "before" (affine -> BN -> ReLU), "after" (affine -> ReLU -> BN) or None (affine -> ReLU).
    Returns (loss, grads): the mean cross-entropy (a float) and a dict with the keys and shapes of params.
    """
    affine_f, affine_b = layers["affine"]
    relu_f, relu_b = layers["relu"]
    bn_f, bn_b = layers["batchnorm"]
    L = sum(1 for name in params if name.startswith("W")) - 1
    h, caches = np.asarray(X, dtype=float), []
    for l in range(1, L + 1):                                   # forward: the caches of every block, in a list
        h, affine_cache = affine_f(h, params[f"W{l}"], params[f"b{l}"])
        bn_cache = None
        if bn == "after":
            h, bn_cache = bn_f(h, params[f"gamma{l}"], params[f"beta{l}"], eps)
        h, relu_cache = relu_f(h)
        if bn == "before":
            h, bn_cache = bn_f(h, params[f"gamma{l}"], params[f"beta{l}"], eps)
        caches.append((affine_cache, bn_cache, relu_cache))
    logits, out_cache = affine_f(h, params[f"W{L + 1}"], params[f"b{L + 1}"])
    loss, dlogits = layers["loss"](logits, t)
    grads = {}
    dh, g = affine_b(dlogits, out_cache)
    grads[f"W{L + 1}"], grads[f"b{L + 1}"] = g["W"], g["b"]
    for l in range(L, 0, -1):                                   # backward: the blocks in reverse, each step in reverse
        affine_cache, bn_cache, relu_cache = caches[l - 1]
        if bn == "before":
            dh, g = bn_b(dh, bn_cache)
            grads[f"gamma{l}"], grads[f"beta{l}"] = g["gamma"], g["beta"]
        dh = relu_b(dh, relu_cache)
        if bn == "after":
            dh, g = bn_b(dh, bn_cache)
            grads[f"gamma{l}"], grads[f"beta{l}"] = g["gamma"], g["beta"]
        dh, g = affine_b(dh, affine_cache)
        grads[f"W{l}"], grads[f"b{l}"] = g["W"], g["b"]
    return float(loss), grads
    ### END SOLUTION
''', ['network_loss_tests']),
}
