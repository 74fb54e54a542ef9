"""Planted answers for lesson 12_cnn: correct answers written differently from the solution, and plausible wrong ones."""
# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks.
# They use loops where the solution vectorises and the reverse, einsum, sliding_window_view, np.add.at, float32
# (cnn_loss, train_sgd), copy.deepcopy with in-place updates, nn.Module layers as attributes; digits_cnn's forward
# makes torch warn (torch.tensor of a tensor), which must cost nothing.
ALTERNATIVES = {
    "conv_output_size": '''import math


def conv_output_size(n, k, padding=0, stride=1):
    if not stride >= 1:
        raise ValueError("stride must be at least 1")
    if padding < 0:
        raise ValueError("padding must not be negative")
    span = n + 2 * padding - k
    if span < 0:
        raise ValueError("the window does not fit")
    return math.floor(span / stride) + 1
''',
    "conv_forward_naive": '''def conv_forward_naive(x, W, b, stride=1, padding=0):
    # six loops, float32 kept when the inputs are float32
    x = np.asarray(x)
    W = np.asarray(W)
    N, C, H, Wd = x.shape
    F_, _, k, _ = W.shape
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (Wd + 2 * padding - k) // stride + 1
    xp = np.zeros((N, C, H + 2 * padding, Wd + 2 * padding), dtype=np.result_type(x, W))
    xp[:, :, padding:padding + H, padding:padding + Wd] = x
    out = np.zeros((N, F_, Ho, Wo), dtype=np.result_type(x, W))
    for n in range(N):
        for f in range(F_):
            for i in range(Ho):
                for j in range(Wo):
                    total = b[f]
                    for c in range(C):
                        total = total + np.sum(xp[n, c, i * stride:i * stride + k, j * stride:j * stride + k] * W[f, c])
                    out[n, f, i, j] = total
    return out, (x, W, b, stride, padding)
''',
    "conv_backward_naive": '''def conv_backward_naive(dout, cache):
    x, W, b, s, p = cache
    N, C, H, Wd = np.shape(x)
    F_, _, k, _ = np.shape(W)
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
    dxp = np.zeros(xp.shape)
    dW = np.zeros(np.shape(W))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            win = xp[:, :, i * s:i * s + k, j * s:j * s + k]
            dW += np.einsum("nf,nckl->fckl", dout[:, :, i, j], win)
            dxp[:, :, i * s:i * s + k, j * s:j * s + k] += np.einsum("nf,fckl->nckl", dout[:, :, i, j], W)
    return dxp[:, :, p:p + H, p:p + Wd], {"b": np.sum(dout, axis=(0, 2, 3)), "W": dW}
''',
    "max_pool": '''def max_pool_forward(x, size=2):
    N, C, H, W = x.shape
    out = np.zeros((N, C, H // size, W // size))
    for i in range(H // size):
        for j in range(W // size):
            out[:, :, i, j] = x[:, :, i * size:(i + 1) * size, j * size:(j + 1) * size].max(axis=(2, 3))
    return out, (x, size)


def max_pool_backward(dout, cache):
    x, size = cache
    N, C, H, W = x.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(H // size):
                for j in range(W // size):
                    window = x[n, c, i * size:(i + 1) * size, j * size:(j + 1) * size]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * size + r, j * size + q] += dout[n, c, i, j]
    return dx, dict()
''',
    "im2col": '''from numpy.lib.stride_tricks import sliding_window_view


def im2col(x, k, stride=1, padding=0):
    xp = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]   # (N, C, Ho, Wo, k, k)
    N, C, Ho, Wo = windows.shape[:4]
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * k * k, Ho * Wo)


def conv_forward(x, W, b, stride=1, padding=0):
    cols = im2col(x, W.shape[2], stride, padding)
    N = np.shape(x)[0]
    Ho = (np.shape(x)[2] + 2 * padding - W.shape[2]) // stride + 1
    out = np.einsum("fk,nkl->nfl", W.reshape(W.shape[0], -1), cols) + b.reshape(1, -1, 1)
    return out.reshape(N, W.shape[0], Ho, -1), (x, W, b, stride, padding, cols)
''',
    "col2im": '''def col2im(cols, x_shape, k, stride=1, padding=0):
    N, C, H, W = x_shape
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    c_idx, m_idx, q_idx, i_idx, j_idx = np.meshgrid(np.arange(C), np.arange(k), np.arange(k), np.arange(Ho),
                                                    np.arange(Wo), indexing="ij")
    rows = (stride * i_idx + m_idx).reshape(C * k * k, Ho * Wo)
    cols_ = (stride * j_idx + q_idx).reshape(C * k * k, Ho * Wo)
    chans = c_idx.reshape(C * k * k, Ho * Wo)
    padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    for n in range(N):
        np.add.at(padded[n], (chans, rows, cols_), cols[n])
    return padded[:, :, padding:H + padding, padding:W + padding]


def conv_backward(dout, cache):
    x, W, b, stride, padding, cols = cache
    F_ = W.shape[0]
    d = dout.reshape(dout.shape[0], F_, -1)
    dW = np.tensordot(d, cols, axes=([0, 2], [0, 2])).reshape(W.shape)
    dcols = np.stack([W.reshape(F_, -1).T @ d[n] for n in range(d.shape[0])])
    return col2im(dcols, x.shape, W.shape[2], stride, padding), {"W": dW, "b": d.sum(axis=2).sum(axis=0)}
''',
    "head_layers": '''def relu_forward(x):
    return np.where(x > 0, x, 0.0), x


def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0), {}


def affine_forward(x, W, b):
    return np.einsum("ni,oi->no", x, W) + b, (x, W, b)


def affine_backward(dout, cache):
    x, W, b = cache
    return np.einsum("no,oi->ni", dout, W), {"W": np.einsum("no,ni->oi", dout, x), "b": dout.sum(0)}


def softmax_cross_entropy(scores, t):
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[0]
    logsumexp = np.logaddexp.reduce(scores, axis=1)           # log sum exp, stable
    loss = np.mean(logsumexp - scores[np.arange(n), t])
    probs = np.exp(scores - logsumexp[:, None])
    onehot = np.eye(scores.shape[1])[t]
    return loss, (probs - onehot) / n
''',
    "cnn_loss": '''def cnn_loss(params, layers, X, t=None):
    X = np.asarray(X, dtype=np.float32)                 # float32 is plenty for images
    N = X.shape[0]
    h1, c1 = layers["conv_forward"](X[:, np.newaxis, :, :], params["conv.weight"], params["conv.bias"], stride=1, padding=1)
    h2, c2 = layers["relu_forward"](h1)
    h3, c3 = layers["max_pool_forward"](h2, size=2)
    s, c4 = layers["affine_forward"](h3.reshape(N, -1), params["fc.weight"], params["fc.bias"])
    if t is None:
        return s
    loss, ds = layers["softmax_cross_entropy"](s, t)
    grads = {}
    d3, g = layers["affine_backward"](ds, c4)
    grads["fc.weight"], grads["fc.bias"] = g["W"], g["b"]
    d2, _ = layers["max_pool_backward"](d3.reshape(h3.shape), c3)
    d1, _ = layers["relu_backward"](d2, c2)
    _, g = layers["conv_backward"](d1, c1)
    grads["conv.weight"], grads["conv.bias"] = g["W"], g["b"]
    return loss, grads
''',
    "train_sgd": '''import copy


def train_sgd(params, X, t, loss_fn, lr=0.1, epochs=1, batch_size=32, seed=0):
    rng = np.random.default_rng(seed)
    params = {key: np.array(value, dtype=np.float32) for key, value in copy.deepcopy(params).items()}   # float32 copies
    history = []
    N = len(X)
    epoch = 0
    while epoch < epochs:
        order = rng.permutation(N)
        for batch in np.split(order, np.arange(batch_size, N, batch_size)):
            loss, grads = loss_fn(params, X[batch], t[batch])
            history.append(loss)
            for key in params:
                params[key] -= lr * grads[key]
        epoch += 1
    return params, history
''',
    "digits_cnn": '''class DigitsCNN(nn.Module):
    def __init__(self, n_filters=16, side=8, n_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(in_channels=1, out_channels=n_filters, kernel_size=(3, 3), stride=1, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(n_filters * (side // 2) * (side // 2), n_classes)

    def forward(self, x):
        x = torch.tensor(x, dtype=torch.float32)       # copies a tensor: torch warns, and the result is right
        return self.fc(self.flatten(self.pool(nn.functional.relu(self.conv(x)))))
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail]); each names its slip in the feedback
MISTAKES = {
    # rounds instead of flooring
    "conv_output_size": ('''def conv_output_size(n, k, padding=0, stride=1):
    """Side of the output of a k x k window sliding over an n x n input: floor((n + 2p - k) / s) + 1.

    n, k, padding, stride: integers.  Returns an int.
    Raises ValueError if k > n + 2 * padding, stride < 1 or padding < 0.
    """
    if stride < 1 or padding < 0:
        raise ValueError(f"need stride >= 1 and padding >= 0, got stride={stride}, padding={padding}")
    if k > n + 2 * padding:
        raise ValueError(f"a {k}x{k} window does not fit in an {n}x{n} input padded by {padding}")
    return int(round((n + 2 * padding - k) / stride) + 1)
''', ['conv_output_size_tests']),
    # flips the kernel (true convolution)
    "conv_forward_naive": ('''def conv_forward_naive(x, W, b, stride=1, padding=0):
    """Forward pass of a convolutional layer (2-D cross-correlation), two Python loops over the output positions.

    x: (N, C_in, height, width).  W: (C_out, C_in, k, k).  b: (C_out,).
    Returns (out, cache): out (N, C_out, H_out, W_out), H_out = (height + 2p - k) // s + 1 (same for W_out),
    and cache = (x, W, b, stride, padding).
    """
    n, c_in, height, width = np.shape(x)
    c_out, _, k, _ = np.shape(W)
    h_out = (height + 2 * padding - k) // stride + 1
    w_out = (width + 2 * padding - k) // stride + 1
    x_pad = np.pad(np.asarray(x, dtype=float), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.empty((n, c_out, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = x_pad[:, :, stride * i:stride * i + k, stride * j:stride * j + k]    # (N, C_in, k, k)
            out[:, :, i, j] = np.tensordot(window, np.asarray(W)[:, :, ::-1, ::-1], axes=([1, 2, 3], [1, 2, 3]))        # (N, C_out)
    out += np.asarray(b, dtype=float)[None, :, None, None]
    return out, (x, W, b, stride, padding)
''', ['conv_forward_naive_tests']),
    # averages dW over the batch
    "conv_backward_naive": ('''def conv_backward_naive(dout, cache):
    """Backward pass of conv_forward_naive, with loops over the output positions.

    dout: (N, C_out, H_out, W_out).  cache: (x, W, b, stride, padding).
    Returns (dx, grads): dx with the shape of x, grads = {"W": dW (C_out, C_in, k, k), "b": db (C_out,)}.
    """
    x, W, b, stride, padding = cache
    x, W, dout = (np.asarray(a, dtype=float) for a in (x, W, dout))
    height, width = x.shape[2:]
    k = W.shape[-1]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_pad = np.zeros_like(x_pad)
    dW = np.zeros_like(W)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(stride * i, stride * i + k), slice(stride * j, stride * j + k)
            g = dout[:, :, i, j]                                                   # (N, C_out): this position's gradient
            dW += np.tensordot(g, x_pad[:, :, rows, cols], axes=([0], [0]))        # dout times the window
            dx_pad[:, :, rows, cols] += np.tensordot(g, W, axes=([1], [0]))        # dout times the filters
    dx = dx_pad[:, :, padding:padding + height, padding:padding + width]           # the padding's zeros get nothing
    return dx, {"W": dW / len(x), "b": dout.sum(axis=(0, 2, 3))}
''', ['conv_backward_naive_tests']),
    # sends the gradient to every tied maximum
    "max_pool": ('''def _pool_windows(x, size):
    """Given (not graded): the non-overlapping windows of x (N, C, H, W) as an array (N, C, H // size, W // size, size * size)."""
    n, c, h, w = x.shape
    ho, wo = h // size, w // size
    cropped = x[:, :, :ho * size, :wo * size]
    return cropped.reshape(n, c, ho, size, wo, size).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, size * size)


def max_pool_forward(x, size=2):
    """Max pooling, window size x size, stride size.  x: (N, C, H, W).

    Returns (out, cache): out (N, C, H // size, W // size) and cache = (x, size).
    """
    x = np.asarray(x, dtype=float)
    return _pool_windows(x, size).max(axis=-1), (x, size)


def max_pool_backward(dout, cache):
    """Gradient of max pooling.  dout: (N, C, H // size, W // size); cache = (x, size).

    Returns (dx, {}): dx (N, C, H, W), each window's gradient at its first maximum (row-major), 0 elsewhere.
    """
    x, size = cache
    x = np.asarray(x, dtype=float)
    n_, c_, h_, w_ = x.shape
    ho, wo = h_ // size, w_ // size
    windows = _pool_windows(x, size)                                  # (N, C, Ho, Wo, size*size)
    first_max = windows.argmax(axis=-1)[..., None]                    # argmax returns the first maximum
    routed = np.zeros_like(windows)
    routed = (windows == windows.max(axis=-1, keepdims=True)) * np.asarray(dout, dtype=float)[..., None]
    routed = routed.reshape(n_, c_, ho, wo, size, size).transpose(0, 1, 2, 4, 3, 5).reshape(n_, c_, ho * size, wo * size)
    dx = np.zeros_like(x)
    dx[:, :, :ho * size, :wo * size] = routed
    return dx, {}
''', ['max_pool_tests']),
    # orders the rows by filter offset, then channel
    "im2col": ('''def im2col(x, k, stride=1, padding=0):
    """The receptive fields of x as columns.  x: (N, C, height, width) -> (N, C * k * k, H_out * W_out), in F.unfold's order."""
    x = np.asarray(x, dtype=float)
    n, c, height, width = x.shape
    h_out = (height + 2 * padding - k) // stride + 1
    w_out = (width + 2 * padding - k) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((n, c, k, k, h_out, w_out))
    for m in range(k):                 # one strided slice per offset inside the filter: k * k copies in all
        for q in range(k):
            cols[:, :, m, q] = x_pad[:, :, m:m + stride * h_out:stride, q:q + stride * w_out:stride]
    return cols.transpose(0, 2, 3, 1, 4, 5).reshape(n, c * k * k, h_out * w_out)


def conv_forward(x, W, b, stride=1, padding=0):
    """Forward pass of a convolutional layer as one matrix product.

    x: (N, C_in, height, width).  W: (C_out, C_in, k, k).  b: (C_out,).
    Returns (out, cache): out (N, C_out, H_out, W_out) and cache = (x, W, b, stride, padding, cols).
    """
    W = np.asarray(W, dtype=float)
    n, _, height, width = np.shape(x)
    c_out, k = W.shape[0], W.shape[-1]
    h_out = (height + 2 * padding - k) // stride + 1
    w_out = (width + 2 * padding - k) // stride + 1
    cols = im2col(x, k, stride, padding)                                          # (N, C_in k k, L)
    out = W.reshape(c_out, -1) @ cols + np.asarray(b, dtype=float)[:, None]       # (N, C_out, L)
    return out.reshape(n, c_out, h_out, w_out), (x, W, b, stride, padding, cols)
''', ['im2col_tests']),
    # assigns where overlapping windows must add
    "col2im": ('''def col2im(cols, x_shape, k, stride=1, padding=0):
    """The adjoint of im2col: add each column entry back onto the pixel it was copied from.

    cols: (N, C * k * k, H_out * W_out).  x_shape: (N, C, height, width).  Returns an array of shape x_shape.
    """
    n, c, height, width = x_shape
    h_out = (height + 2 * padding - k) // stride + 1
    w_out = (width + 2 * padding - k) // stride + 1
    cols = np.asarray(cols, dtype=float).reshape(n, c, k, k, h_out, w_out)
    x_pad = np.zeros((n, c, height + 2 * padding, width + 2 * padding))
    for m in range(k):
        for q in range(k):
            x_pad[:, :, m:m + stride * h_out:stride, q:q + stride * w_out:stride] = cols[:, :, m, q]
    return x_pad[:, :, padding:padding + height, padding:padding + width]


def conv_backward(dout, cache):
    """Backward pass of conv_forward.  dout: (N, C_out, H_out, W_out); cache = (x, W, b, stride, padding, cols).

    Returns (dx, grads): dx with the shape of x, grads = {"W": dW (C_out, C_in, k, k), "b": db (C_out,)}.
    """
    x, W, b, stride, padding, cols = cache
    W = np.asarray(W, dtype=float)
    n, c_out = np.shape(dout)[:2]
    delta = np.asarray(dout, dtype=float).reshape(n, c_out, -1)                   # (N, C_out, L)
    dW = np.einsum("nfl,ncl->fc", delta, cols).reshape(W.shape)                   # sum over images and positions
    dcols = W.reshape(c_out, -1).T @ delta                                        # (N, C_in k k, L)
    dx = col2im(dcols, np.shape(x), W.shape[-1], stride, padding)
    return dx, {"W": dW, "b": delta.sum(axis=(0, 2))}
''', ['col2im_tests']),
    # transposes dW in affine_backward
    "head_layers": ('''def relu_forward(x):
    """ReLU.  x: any shape.  Returns (out, cache) with out = max(0, x) and cache = x."""
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """Gradient of ReLU.  dout: the shape of x; cache = x.  Returns (dx, {}): dout where x > 0, else 0."""
    return np.asarray(dout, dtype=float) * (np.asarray(cache) > 0), {}


def affine_forward(x, W, b):
    """Dense layer.  x: (N, n_in); W: (n_out, n_in); b: (n_out,).  Returns (out, cache): out = x @ W.T + b, (N, n_out)."""
    out = np.asarray(x, dtype=float) @ np.asarray(W, dtype=float).T + np.asarray(b, dtype=float)
    return out, (x, W, b)


def affine_backward(dout, cache):
    """Gradient of the dense layer.  dout: (N, n_out); cache = (x, W, b).  Returns (dx, {"W": dW, "b": db})."""
    x, W, b = cache
    dout = np.asarray(dout, dtype=float)
    return dout @ np.asarray(W, dtype=float), {"W": np.asarray(x, dtype=float).T @ dout, "b": dout.sum(axis=0)}


def softmax_cross_entropy(scores, t):
    """Mean softmax cross-entropy and its gradient.  scores: (N, K); t: (N,) labels.  Returns (loss, dscores (N, K))."""
    scores = np.asarray(scores, dtype=float)
    t = np.asarray(t, dtype=int)
    rows = np.arange(len(t))
    shifted = scores - scores.max(axis=1, keepdims=True)                   # the largest score becomes 0: no overflow
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log softmax, (N, K)
    dscores = np.exp(log_p)
    dscores[rows, t] -= 1.0                                                # P - T
    return float(-log_p[rows, t].mean()), dscores / len(t)
''', ['head_layers_tests']),
    # skips the ReLU's backward half
    "cnn_loss": ('''def cnn_loss(params, layers, X, t=None):
    """The CNN conv(3x3, padding 1) -> ReLU -> max pool 2 -> flatten -> dense -> softmax cross-entropy.

    params: {"conv.weight": (F, 1, 3, 3), "conv.bias": (F,), "fc.weight": (K, F * (H // 2) * (W // 2)), "fc.bias": (K,)}.
    layers: {"conv_forward": ..., "softmax_cross_entropy": ...}, the nine layer functions.  X: (N, H, W).  t: (N,) or None.
    Returns the scores (N, K) if t is None, else (loss, grads) with grads under the keys of params.
    """
    x = np.asarray(X, dtype=float)[:, None]                                        # (N, 1, H, W)
    z, conv_cache = layers["conv_forward"](x, params["conv.weight"], params["conv.bias"], 1, 1)
    a, relu_cache = layers["relu_forward"](z)
    pooled, pool_cache = layers["max_pool_forward"](a, 2)
    scores, fc_cache = layers["affine_forward"](pooled.reshape(len(x), -1), params["fc.weight"], params["fc.bias"])
    if t is None:
        return scores
    loss, dscores = layers["softmax_cross_entropy"](scores, t)
    dflat, fc_grads = layers["affine_backward"](dscores, fc_cache)
    dpooled, _ = layers["max_pool_backward"](dflat.reshape(pooled.shape), pool_cache)
    _, conv_grads = layers["conv_backward"](dpooled, conv_cache)
    return loss, {"conv.weight": conv_grads["W"], "conv.bias": conv_grads["b"],
                  "fc.weight": fc_grads["W"], "fc.bias": fc_grads["b"]}
''', ['cnn_loss_tests']),
    # shuffles once for all epochs
    "train_sgd": ('''def train_sgd(params, X, t, loss_fn, lr=0.1, epochs=1, batch_size=32, seed=0):
    """Mini-batch stochastic gradient descent.

    params: {name: array}.  X: (N, ...) inputs.  t: (N,) labels.  loss_fn(params, X_batch, t_batch) -> (loss, grads).
    Returns (params, losses): new trained parameters, and the loss of every batch in order (before its update).
    """
    rng = np.random.default_rng(seed)
    params = {name: np.array(value, dtype=float) for name, value in params.items()}   # copies: the caller's stay
    losses = []
    order = rng.permutation(len(X))
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[batch], t[batch])
            params = {name: value - lr * grads[name] for name, value in params.items()}
            losses.append(float(loss))
    return params, losses
''', ['train_sgd_tests']),
    # forgets the ReLU
    "digits_cnn": ('''class DigitsCNN(nn.Module):
    """conv 3x3 (padding 1) -> ReLU -> max pool 2 -> flatten -> dense: (N, 1, side, side) -> (N, n_classes) scores."""

    def __init__(self, n_filters=16, side=8, n_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(1, n_filters, kernel_size=3, padding=1)
        self.fc = nn.Linear(n_filters * (side // 2) ** 2, n_classes)

    def forward(self, x):
        return self.fc(F.max_pool2d(self.conv(x), 2).flatten(1))
''', ['digits_cnn_tests']),
}
