"""Planted answers for lesson 09_regularization: correct answers written differently from the solution."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # np.vdot for the sum of squares
    "l2_penalty": '''def l2_penalty(w, alpha):
    w = np.asarray(w, dtype=np.float64)
    return 0.5 * alpha * float(np.vdot(w, w)), np.multiply(alpha, w)
''',
    # a double loop over samples and classes, on torch's log_softmax
    "smoothed_cross_entropy": '''def smoothed_cross_entropy(logits, t, eps):
    """One sample at a time, with torch's log_softmax."""
    z = torch.tensor(np.asarray(logits, dtype=np.float64))
    log_p = torch.log_softmax(z, dim=1).numpy()
    n, k = log_p.shape
    total = 0.0
    for i, label in enumerate(np.asarray(t)):
        for c in range(k):
            q = 1 - (k - 1) / k * eps if c == label else eps / k
            total -= q * log_p[i, c]
    return total / n
''',
    # np.where with the scale computed in numpy floats: at p = 1 it is inf and numpy warns (no unit is kept, so the mask is still 0)
    "dropout": '''def dropout_forward(h, p, seed, training=True):
    """Inverted dropout with np.where; at p = 1 the scale is inf (numpy warns) but no unit is kept."""
    if p < 0 or p > 1:
        raise ValueError("p must lie in [0, 1]")
    h = np.array(h, dtype=np.float64)
    if not training:
        return h, np.ones(h.shape)
    u = np.random.default_rng(seed).uniform(size=h.shape)
    scale = np.float64(1.0) / (np.float64(1.0) - p)
    mask = np.where(u >= p, scale, 0.0)
    return h * mask, mask


def dropout_backward(dout, mask):
    return np.multiply(dout, mask)
''',
    # a while loop with a counter of epochs without improvement
    "early_stopping": '''def fit_with_early_stopping(train_epoch, val_loss, weights, max_epochs, patience):
    history, best, waited, epoch = [], None, 0, 0
    while epoch < max_epochs and waited < patience:
        epoch += 1
        train_epoch(weights)
        history.append(float(val_loss(weights)))
        if best is None or history[-1] < history[best[0] - 1]:
            best, waited = (epoch, np.copy(weights)), 0
        else:
            waited += 1
    return best[0], best[1], history
''',
    # fold sizes from divmod and an explicit loop
    "kfold": '''def kfold_indices(n, k, seed=0):
    if k < 2 or k > n:
        raise ValueError(f"need 2 <= k <= n, got {k}, {n}")
    order = np.random.default_rng(seed).permutation(n)
    base, extra = divmod(n, k)
    splits, start = [], 0
    for i in range(k):
        size = base + (1 if i < extra else 0)
        val = order[start:start + size]
        train = np.array([j for j in order if j not in set(val.tolist())], dtype=int)
        splits.append((train, val))
        start += size
    return splits
''',
    # torch for the affine forward pass and for softmax cross-entropy by autograd; einsum for the affine backward pass; a boolean cache for ReLU
    "layers": '''def affine_forward(x, W, b):
    x = np.asarray(x, dtype=float)
    out = torch.as_tensor(x) @ torch.as_tensor(W).T + torch.as_tensor(b)
    return out.numpy(), (x, np.asarray(W, dtype=float))


def affine_backward(dout, cache):
    x, W = cache
    return np.einsum("no,oi->ni", dout, W), {"W": np.einsum("no,ni->oi", dout, x), "b": np.einsum("no->o", dout)}


def relu_forward(x):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, 0.0), x > 0


def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0)


def softmax_cross_entropy(logits, t):
    z = torch.tensor(np.asarray(logits, dtype=float), requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z, torch.as_tensor(np.asarray(t), dtype=torch.long))
    loss.backward()
    return loss.item(), z.grad.numpy()
''',
    # written out in float32, without calling the layer functions
    "mlp_loss": '''def mlp_loss(params, X, t, lam=0.0, mask=None):
    """Written out in float32, without the layer functions."""
    W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float32) for k in ("W1", "b1", "W2", "b2"))
    X = np.asarray(X, dtype=np.float32)
    t = np.asarray(t)
    n = len(t)
    z1 = X @ W1.T + b1
    h = np.maximum(z1, 0)
    if mask is not None:
        h = h * np.asarray(mask, dtype=np.float32)
    logits = h @ W2.T + b2
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    P = np.exp(log_p)
    T = np.eye(logits.shape[1], dtype=np.float32)[t]
    loss = float(-log_p[np.arange(n), t].mean()) + 0.5 * lam * float(np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dlogits = (P - T) / n
    dh = dlogits @ W2
    if mask is not None:
        dh = dh * mask
    dz1 = dh * (z1 > 0)
    return loss, {"W1": dz1.T @ X + lam * W1, "b1": dz1.sum(axis=0), "W2": dlogits.T @ h + lam * W2, "b2": dlogits.sum(axis=0)}
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    # keeps u > p: the unit whose draw equals p is dropped (issue 15's < against <= boundary)
    "dropout": ('''def dropout_forward(h, p, seed, training=True):
    if not 0.0 <= p <= 1.0:
        raise ValueError(p)
    h = np.asarray(h, dtype=float)
    if not training:
        return h.copy(), np.ones_like(h)
    if p == 1.0:
        return np.zeros_like(h), np.zeros_like(h)
    keep = np.random.default_rng(seed).random(h.shape) > p
    mask = keep / (1.0 - p)
    return h * mask, mask


def dropout_backward(dout, mask):
    return dout * mask
''', ['dropout_tests']),
    # db is the mean over the samples, not the sum (mlp_loss uses the layers, so it fails too)
    "layers": ('''def affine_forward(x, W, b):
    """Dense layer: x (N, n_in), W (n_out, n_in), b (n_out,) -> (out (N, n_out), cache)."""
    x = np.asarray(x, dtype=float)
    return x @ W.T + b, (x, W)


def affine_backward(dout, cache):
    """dout = dL/dout (N, n_out) -> (dx (N, n_in), {"W": dW (n_out, n_in), "b": db (n_out,)})."""
    x, W = cache
    return dout @ W, {"W": dout.T @ x, "b": dout.mean(axis=0)}


def relu_forward(x):
    """max(x, 0) elementwise: x (any shape S) -> (out (S), cache)."""
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """dout (S) -> dx (S): dout where the input was > 0, and 0 elsewhere (also at exactly 0)."""
    return dout * (cache > 0)


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
''', ['layers_tests', 'mlp_loss_tests']),
    # the mask multiplies the ReLU's input, not its output (only a negative mask entry shows it)
    "mlp_loss": ('''def mlp_loss(params, X, t, lam=0.0, mask=None):
    z1, c1 = affine_forward(X, params["W1"], params["b1"])
    if mask is not None:
        z1 = z1 * mask
    h, c2 = relu_forward(z1)
    logits, c3 = affine_forward(h, params["W2"], params["b2"])
    loss, dlogits = softmax_cross_entropy(logits, t)
    dh, g2 = affine_backward(dlogits, c3)
    dz = relu_backward(dh, c2)
    if mask is not None:
        dz = dz * mask
    _, g1 = affine_backward(dz, c1)
    grads = {"W1": g1["W"], "b1": g1["b"], "W2": g2["W"], "b2": g2["b"]}
    for name in ("W1", "W2"):
        loss += 0.5 * lam * np.sum(params[name] ** 2)
        grads[name] = grads[name] + lam * params[name]
    return loss, grads
''', ['mlp_loss_tests']),
    # Goodfellow's convention eps/(k-1), 1 - eps
    "smoothed_cross_entropy": ('''def smoothed_cross_entropy(logits, t, eps):
    z = np.asarray(logits, dtype=float)
    t = np.asarray(t, dtype=int)
    n, k = z.shape
    log_p = z - z.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    q = np.full((n, k), eps / (k - 1))
    q[np.arange(n), t] = 1 - eps
    return float(-(q * log_p).sum(axis=1).mean())
''', ['smoothed_cross_entropy_tests']),
    # the 1/2 is missing (the solution's mlp_loss calls l2_penalty, so it fails too)
    "l2_penalty": ('''def l2_penalty(w, alpha):
    w = np.asarray(w, dtype=float)
    return alpha * float(np.sum(w * w)), alpha * w
''', ['l2_penalty_tests', 'mlp_loss_tests']),
    # the default seed is 1, not 0
    "kfold": ('''def kfold_indices(n, k, seed=1):
    if not 2 <= k <= n:
        raise ValueError("k")
    order = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(order, k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), f) for i, f in enumerate(folds)]
''', ['kfold_tests']),
    # a tie counts as an improvement
    "early_stopping": ('''def fit_with_early_stopping(train_epoch, val_loss, weights, max_epochs, patience):
    best_epoch, best_loss, best_weights, history = 0, np.inf, weights.copy(), []
    for epoch in range(1, max_epochs + 1):
        train_epoch(weights)
        loss = float(val_loss(weights))
        history.append(loss)
        if loss <= best_loss:
            best_epoch, best_loss, best_weights = epoch, loss, weights.copy()
        elif epoch - best_epoch >= patience:
            break
    return best_epoch, best_weights, history
''', ['early_stopping_tests']),
}
