"""Planted answers for lesson 13_rnn: correct answers written differently from the solution.

ALTERNATIVES: one per answer cell, each must score full marks under plain nbgrader and under the grading pipeline.
They compute in float32 (rnn_step through torch, the LSTM backward and the GRU in numpy), with torch autograd
(bptt, the cross-entropy), gate by gate with an extra cache key and a sigmoid that overflows, so numpy warns (the LSTM
forward: the hidden test's pre-activations of -800), with np.searchsorted row by row (sampling), and by returning the
given arrays unchanged when nothing needs scaling (clip_by_norm, which its task allows).

MISTAKES: plausible wrong answers and the test cells that must fail on them.
"""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # rnn_step: float32 torch
    'rnn_step': '''def rnn_step(x_t, s_prev, U, W, V):
    import torch
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)
    s = torch.tanh(t(x_t) @ t(U).T + t(s_prev) @ t(W).T)
    return s.numpy(), torch.tanh(s @ t(V).T).numpy()
''',
    # bptt: torch autograd
    'bptt': '''def bptt(X, Y, U, W, V, s0):
    import torch
    X, Y = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(Y, dtype=torch.float64)
    U, W, V = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (U, W, V))
    s, loss = torch.as_tensor(s0, dtype=torch.float64), 0.0
    for t in range(len(X)):
        s = torch.tanh(U @ X[t] + W @ s)
        loss = loss + 0.5 * ((torch.tanh(V @ s) - Y[t]) ** 2).sum()
    loss.backward()
    return loss.item(), U.grad.numpy(), W.grad.numpy(), V.grad.numpy()
''',
    # clip_by_norm: returns the inputs when short
    'clip_by_norm': '''def clip_by_norm(grads, max_norm):
    total = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if total <= max_norm:
        return list(grads), total
    return [np.multiply(g, max_norm / total) for g in grads], total
''',
    # lstm fwd: gate by gate, naive sigmoid that warns
    'lstm_step_forward': '''def lstm_step_forward(x, h_prev, c_prev, W, b):
    H = h_prev.shape[1]
    Wh, Wx = W[:, :H], W[:, H:]
    sigmoid = lambda a: 1.0 / (1.0 + np.exp(-a))        # overflows (a warning, not an error) for a < -709
    gate = lambda k: h_prev @ Wh[k * H:(k + 1) * H].T + x @ Wx[k * H:(k + 1) * H].T + b[k * H:(k + 1) * H]
    i, f, c_tilde, o = sigmoid(gate(0)), sigmoid(gate(1)), np.tanh(gate(2)), sigmoid(gate(3))
    c = f * c_prev + i * c_tilde
    h = o * np.tanh(c)
    cache = dict(hx=np.hstack([h_prev, x]), c_prev=c_prev.copy(), i=i, f=f, c_tilde=c_tilde, o=o, c=c, W=W.copy(), tanh_c=np.tanh(c))
    return h, c, cache
''',
    # lstm bwd: float32 throughout
    'lstm_step_backward': '''def lstm_step_backward(dh, dc, cache):
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    i, f, g, o, c, cp, hx, W = (f32(cache[k]) for k in ("i", "f", "c_tilde", "o", "c", "c_prev", "hx", "W"))
    dh, dc = f32(dh), f32(dc)
    H = i.shape[1]
    dC = dc + dh * o * (1 - np.tanh(c) ** 2)
    da = np.hstack([dC * g * i * (1 - i), dC * cp * f * (1 - f), dC * i * (1 - g ** 2), dh * np.tanh(c) * o * (1 - o)])
    dhx = da @ W
    return dhx[:, H:], dhx[:, :H], dC * f, {"W": da.T @ hx, "b": da.sum(axis=0)}
''',
    # gru: float32
    'gru_cell': '''def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    f = lambda a: np.asarray(a, dtype=np.float32)
    x, h, W_ih, W_hh, b_ih, b_hh = map(f, (x, h, W_ih, W_hh, b_ih, b_hh))
    H = h.shape[1]
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
    z = 1 / (1 + np.exp(-(gi[:, H:2*H] + gh[:, H:2*H])))
    n = np.tanh(gi[:, 2*H:] + r * gh[:, 2*H:])
    return (1 - z) * n + z * h
''',
    # CE: torch autograd
    'sequence_cross_entropy': '''def sequence_cross_entropy(logits, targets):
    import torch
    y = torch.tensor(np.asarray(logits, dtype=np.float64), requires_grad=True)
    K = y.shape[-1]
    loss = torch.nn.functional.cross_entropy(y.reshape(-1, K), torch.as_tensor(np.asarray(targets), dtype=torch.long).reshape(-1))
    loss.backward()
    return loss.item(), y.grad.numpy()
''',
    # sample: searchsorted per row
    'sample_next': '''def sample_next(logits, temperature, u):
    out = []
    for row, v in zip(np.asarray(logits, dtype=float), u):
        z = row / temperature
        p = np.exp(z - z.max())
        cdf = np.cumsum(p) / p.sum()
        out.append(min(int(np.searchsorted(cdf, v, side="right")), len(row) - 1))
    return np.array(out, dtype=np.int64)
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    "fwd: Colah's order f, i, C~, o": ('''def lstm_step_forward(x, h_prev, c_prev, W, b):
    sigmoid = lambda a: 1 / (1 + np.exp(-a))
    W, c_prev = np.asarray(W), np.asarray(c_prev)
    H = c_prev.shape[1]
    hx = np.concatenate([h_prev, x], axis=1)
    a = hx @ W.T + b
    f, i, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
    c_tilde = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * c_tilde
    h = o * np.tanh(c)
    return h, c, {"hx": hx, "c_prev": c_prev, "i": i, "f": f, "c_tilde": c_tilde, "o": o, "c": c, "W": W}
''', ['lstm_step_forward_tests']),
    'fwd: [x, h] concatenation': ('''def lstm_step_forward(x, h_prev, c_prev, W, b):
    sigmoid = lambda a: 1 / (1 + np.exp(-a))
    W, c_prev = np.asarray(W), np.asarray(c_prev)
    H = c_prev.shape[1]
    hx = np.concatenate([x, h_prev], axis=1)
    a = hx @ W.T + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
    c_tilde = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * c_tilde
    h = o * np.tanh(c)
    return h, c, {"hx": hx, "c_prev": c_prev, "i": i, "f": f, "c_tilde": c_tilde, "o": o, "c": c, "W": W}
''', ['lstm_step_forward_tests']),
    'bwd: misses the path through h': ('''def lstm_step_backward(dh, dc, cache):
    i, f, c_tilde, o, c = (np.asarray(cache[key]) for key in ("i", "f", "c_tilde", "o", "c"))
    H = i.shape[1]
    tanh_c = np.tanh(c)
    dc_total = dc
    da = np.concatenate([dc_total * c_tilde * i * (1 - i), dc_total * cache["c_prev"] * f * (1 - f),
                         dc_total * i * (1 - c_tilde ** 2), dh * tanh_c * o * (1 - o)], axis=1)
    dhx = da @ np.asarray(cache["W"])
    grads = {"W": da.T @ np.asarray(cache["hx"]), "b": da.sum(axis=0)}
    return dhx[:, H:], dhx[:, :H], dc_total * f, grads
''', ['lstm_step_backward_tests']),
    'bwd: grads averaged over the batch': ('''def lstm_step_backward(dh, dc, cache):
    i, f, c_tilde, o, c = (np.asarray(cache[key]) for key in ("i", "f", "c_tilde", "o", "c"))
    H = i.shape[1]
    tanh_c = np.tanh(c)
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    da = np.concatenate([dc_total * c_tilde * i * (1 - i), dc_total * cache["c_prev"] * f * (1 - f),
                         dc_total * i * (1 - c_tilde ** 2), dh * tanh_c * o * (1 - o)], axis=1)
    dhx = da @ np.asarray(cache["W"])
    grads = {"W": da.T @ np.asarray(cache["hx"]) / len(da), "b": da.mean(axis=0)}
    return dhx[:, H:], dhx[:, :H], dc_total * f, grads
''', ['lstm_step_backward_tests']),
    "bwd: Colah's order in the grads": ('''def lstm_step_backward(dh, dc, cache):
    i, f, c_tilde, o, c = (np.asarray(cache[key]) for key in ("i", "f", "c_tilde", "o", "c"))
    H = i.shape[1]
    tanh_c = np.tanh(c)
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    da = np.concatenate([dc_total * cache["c_prev"] * f * (1 - f), dc_total * c_tilde * i * (1 - i),
                         dc_total * i * (1 - c_tilde ** 2), dh * tanh_c * o * (1 - o)], axis=1)
    dhx = da @ np.asarray(cache["W"])
    grads = {"W": da.T @ np.asarray(cache["hx"]), "b": da.sum(axis=0)}
    return dhx[:, H:], dhx[:, :H], dc_total * f, grads
''', ['lstm_step_backward_tests']),
    'CE: mean over N only': ('''def sequence_cross_entropy(logits, targets):
    logits, targets = np.asarray(logits, dtype=float), np.asarray(targets)
    N, T, K = logits.shape
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    rows, steps = np.arange(N)[:, None], np.arange(T)[None, :]
    loss = -log_p[rows, steps, targets].sum() / N
    dlogits = np.exp(log_p)
    dlogits[rows, steps, targets] -= 1.0
    return float(loss), dlogits / N
''', ['sequence_cross_entropy_tests']),
    'sample: logits * temperature': ('''def sample_next(logits, temperature, u):
    scaled = np.asarray(logits, dtype=float) * temperature
    p = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    running = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    k = np.sum(running <= np.asarray(u, dtype=float)[:, None], axis=1)
    return np.minimum(k, running.shape[1] - 1)
''', ['sample_next_tests']),
    'sample: <= at the boundary': ('''def sample_next(logits, temperature, u):
    scaled = np.asarray(logits, dtype=float) / temperature
    p = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    running = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    k = np.sum(running < np.asarray(u, dtype=float)[:, None], axis=1)
    return np.minimum(k, running.shape[1] - 1)
''', ['sample_next_tests']),
    'clip: in place': ('''def clip_by_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    for g in grads:
        g *= min(1.0, max_norm / total) if total > 0 else 1.0
    return grads, total
''', ['clip_tests']),
}
