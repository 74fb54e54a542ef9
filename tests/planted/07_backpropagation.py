"""Planted answers for lesson 07_backpropagation: correct answers written differently from the solution,
and plausible wrong ones with the test cells each must fail (graded together, model answers elsewhere)."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # a fresh perturbation array per entry and np.vdot, instead of nudging one copy in place
    'numerical_gradient_array': '''
def numerical_gradient_array(f, x, dout, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    g = np.empty_like(x)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x); e[idx] = eps
        g[idx] = (np.vdot(f(x + e), dout) - np.vdot(f(x - e), dout)) / (2 * eps)
    return g
''',
    # torch tensors in, a numpy array out
    'output_delta': '''
def output_delta(t, out):
    t = torch.as_tensor(np.asarray(t, dtype=np.float64)); o = torch.as_tensor(np.asarray(out, dtype=np.float64))
    return ((t - o) * o * (1 - o)).numpy()
''',
    # plain Python loops over i and q
    'hidden_delta': '''
def hidden_delta(out_hidden, W_next, delta_next):
    l = len(out_hidden); n = len(delta_next)
    res = np.zeros(l)
    for q in range(l):
        s = 0.0
        for i in range(n):
            s += delta_next[i] * W_next[i][q]
        res[q] = out_hidden[q] * (1 - out_hidden[q]) * s
    return res
''',
    # broadcasting a column against a row instead of np.outer
    'weight_update': '''
def weight_update(W, delta, out_prev, eta):
    return np.asarray(W, dtype=float) + eta * np.asarray(delta, dtype=float)[:, None] * np.asarray(out_prev, dtype=float)[None, :]
''',
    # one function, no calls to the exercise 2-4 helpers, signals collected backwards then reversed
    'train_incremental': '''
def train_incremental(X, T, weights, biases, eta=1.0, E_threshold=0.05, max_epochs=5000):
    Ws = [np.array(w, dtype=float) for w in weights]; bs = [np.array(b, dtype=float) for b in biases]
    errors = []
    for epoch in range(max_epochs):
        E = 0.0
        for x, t in zip(np.asarray(X, float), np.asarray(T, float)):
            outs = [x]
            for w, b in zip(Ws, bs):
                outs.append(1 / (1 + np.exp(-(w @ outs[-1] + b))))
            y = outs[-1]
            E += 0.5 * ((t - y) ** 2).sum()
            d = (t - y) * y * (1 - y)
            ds = [d]
            for k in range(len(Ws) - 1, 0, -1):
                o = outs[k]
                ds.append(o * (1 - o) * (Ws[k].T @ ds[-1]))
            ds.reverse()
            for k in range(len(Ws)):
                Ws[k] = Ws[k] + eta * np.outer(ds[k], outs[k])
                bs[k] = bs[k] + eta * ds[k]
        errors.append(E)
        if E < E_threshold:
            break
    return Ws, bs, errors
''',
    # np.einsum for every product
    'affine': '''
def affine_forward(x, W, b):
    return np.einsum("ni,ki->nk", x, W) + b, (x, W, b)
def affine_backward(dout, cache):
    x, W, b = cache
    return np.einsum("nk,ki->ni", dout, W), {"W": np.einsum("nk,ni->ki", dout, x), "b": np.einsum("nk->k", dout)}
''',
    # the naive 1 / (1 + exp(-x)): numpy warns of an overflow at x = -1000, and the value is still right
    'sigmoid_layer': '''
def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out
def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache), {}
''',
    # x * (x > 0) forward, a copied dout with entries zeroed backward
    'relu_layer': '''
def relu_forward(x):
    return x * (x > 0), x
def relu_backward(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx, {}
''',
    # log-sum-exp by hand, one-hot by indexing, dout divided by N first
    'softmax_ce': '''
def softmax_ce_forward(z, t):
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=1)
    lse = m + np.log(np.sum(np.exp(z - m[:, None]), axis=1))
    loss = np.mean(lse - z[np.arange(z.shape[0]), t])
    return loss, (np.exp(z - lse[:, None]), t)
def softmax_ce_backward(dout, cache):
    P, t = cache
    onehot = np.zeros_like(P); onehot[np.arange(len(t)), t] = 1
    return (P - onehot) * (dout / P.shape[0]), {}
''',
    # staged through r: dr, then d(mean square), then the direct and the indirect path added
    'rmsnorm_backward': '''
def rmsnorm_backward(dout, cache):
    x, g, r = cache
    N, D = x.shape
    dxhat = dout * g
    dr = np.sum(dxhat * x * (-1.0 / r ** 2), axis=1, keepdims=True)
    dms = dr / (2 * r)                   # r = sqrt(ms + eps)
    dx = dxhat / r + dms * 2 * x / D
    return dx, {"g": np.sum(dout * x / r, axis=0)}
''',
    # the network as a plan of (layer, parameter names), walked forward and then in reverse
    'two_layer_loss': '''
def two_layer_loss(params, X, t, layers):
    plan = [("affine", ("W1", "b1")), ("activation", ()), ("affine", ("W2", "b2"))]
    caches, out = [], X
    for kind, names in plan:
        out, cache = layers[kind][0](out, *[params[n] for n in names])
        caches.append(cache)
    loss, lc = layers["loss"][0](out, t)
    d, _ = layers["loss"][1](1.0, lc)
    grads = {}
    for (kind, names), cache in zip(reversed(plan), reversed(caches)):
        d, g = layers[kind][1](d, cache)
        for n, key in zip(names, ("W", "b")):
            grads[n] = g[key]
    return loss, grads
''',
    # copy.deepcopy and a while loop
    'gradient_descent': '''
import copy
def gradient_descent(loss_and_grads, params, X, t, lr=1.0, steps=1000):
    p = copy.deepcopy(params)
    history = []
    step = 0
    while step < steps:
        value, g = loss_and_grads(p, X, t)
        history.append(value)
        for name in p:
            p[name] = p[name] - lr * g[name]
        step += 1
    return p, history
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    # stores f(x + eps) and f(x - eps) and contracts later: wrong when f returns its argument
    'numerical_gradient_array': ('''
def numerical_gradient_array(f, x, dout, eps=1e-6):
    x = np.array(x, dtype=float); g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps; pos = f(x)
        x[idx] = old - eps; neg = f(x)
        x[idx] = old
        g[idx] = np.sum((pos - neg) * dout) / (2 * eps)
    return g
''', ['numerical_gradient_array_tests']),
    # (Out - d) instead of (d - Out)
    'output_delta': ('''
def output_delta(t, out):
    return (np.asarray(out) - np.asarray(t)) * np.asarray(out) * (1 - np.asarray(out))
''', ['output_delta_tests']),
    # W_next @ delta_next: the transposed weight
    'hidden_delta': ('''
def hidden_delta(out_hidden, W_next, delta_next):
    out_hidden = np.asarray(out_hidden)
    return out_hidden * (1 - out_hidden) * (np.asarray(W_next) @ np.asarray(delta_next))
''', ['hidden_delta_tests']),
    # updates W in place and returns it
    'weight_update': ('''
def weight_update(W, delta, out_prev, eta):
    W += eta * np.outer(delta, out_prev)
    return W
''', ['weight_update_tests']),
    # deck 000's stage 4 read literally: each layer updated before the next signal is computed from it
    'train_incremental': ('''
def train_incremental(X, T, weights, biases, eta=1.0, E_threshold=0.05, max_epochs=5000):
    Ws = [np.array(w, dtype=float) for w in weights]; bs = [np.array(b, dtype=float) for b in biases]
    errors = []
    for epoch in range(max_epochs):
        E = 0.0
        for x, t in zip(np.asarray(X, float), np.asarray(T, float)):
            outs = [x]
            for w, b in zip(Ws, bs):
                outs.append(1 / (1 + np.exp(-(w @ outs[-1] + b))))
            y = outs[-1]
            E += 0.5 * ((t - y) ** 2).sum()
            d = (t - y) * y * (1 - y)
            for k in range(len(Ws) - 1, -1, -1):
                Ws[k] = Ws[k] + eta * np.outer(d, outs[k]); bs[k] = bs[k] + eta * d
                if k > 0:
                    d = outs[k] * (1 - outs[k]) * (Ws[k].T @ d)
        errors.append(E)
        if E < E_threshold:
            break
    return Ws, bs, errors
''', ['train_incremental_tests']),
    # db averaged over the batch: exactly 1/N of the right one
    'affine': ('''
def affine_forward(x, W, b):
    return x @ W.T + b, (x, W, b)
def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W, {"W": dout.T @ x, "b": dout.mean(axis=0)}
''', ['affine_tests']),
    # applies the sigmoid to the cached output again
    'sigmoid_layer': ('''
def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out
def sigmoid_backward(dout, cache):
    s = 1 / (1 + np.exp(-cache))
    return dout * s * (1 - s), {}
''', ['sigmoid_layer_tests']),
    # slope 1 at x = 0 (x >= 0)
    'relu_layer': ('''
def relu_forward(x):
    return np.maximum(x, 0), x
def relu_backward(dout, cache):
    return dout * (cache >= 0), {}
''', ['relu_layer_tests']),
    # log of P: -inf when a probability rounds to 0
    'softmax_ce': ('''
def softmax_ce_forward(z, t):
    s = z - z.max(axis=1, keepdims=True)
    P = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(P[np.arange(len(t)), t]))), (P, t)
def softmax_ce_backward(dout, cache):
    P, t = cache
    dz = P.copy(); dz[np.arange(len(t)), t] -= 1
    return dout * dz / len(t), {}
''', ['softmax_ce_tests']),
    # fixes dg but keeps the colleague's dx, which treats r as a constant
    'rmsnorm_backward': ('''
def rmsnorm_backward(dout, cache):
    x, g, r = cache
    xh = x / r
    return dout * g / r, {"g": np.sum(dout * xh, axis=0)}
''', ['rmsnorm_backward_tests']),
    # ignores the layers it is given and calls its own globals
    'two_layer_loss': ('''
def two_layer_loss(params, X, t, layers):
    z1, c1 = affine_forward(X, params["W1"], params["b1"])
    h, ch = relu_forward(z1)
    z2, c2 = affine_forward(h, params["W2"], params["b2"])
    loss, cl = softmax_ce_forward(z2, t)
    dz2, _ = softmax_ce_backward(1.0, cl)
    dh, g2 = affine_backward(dz2, c2)
    dz1, _ = relu_backward(dh, ch)
    _, g1 = affine_backward(dz1, c1)
    return loss, {"W1": g1["W"], "b1": g1["b"], "W2": g2["W"], "b2": g2["b"]}
''', ['two_layer_loss_tests']),
    # records the loss after each step instead of before
    'gradient_descent': ('''
def gradient_descent(loss_and_grads, params, X, t, lr=1.0, steps=1000):
    p = {k: np.array(v, dtype=float) for k, v in params.items()}
    losses = []
    for _ in range(steps):
        _, grads = loss_and_grads(p, X, t)
        p = {k: v - lr * grads[k] for k, v in p.items()}
        losses.append(loss_and_grads(p, X, t)[0])
    return p, losses
''', ['gradient_descent_tests']),
}
