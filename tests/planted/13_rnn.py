"""Planted answers for lesson 13_rnn: correct answers written differently from the solution, and plausible
wrong ones with the test cell each must fail.

The correct ones compute in float32 (rnn_step through torch, the LSTM backward and the GRU in numpy), with torch
autograd (bptt, the cross-entropy), gate by gate with an extra cache key and a sigmoid that overflows so that numpy
warns (the LSTM forward, on the hidden test's pre-activations of -800), with np.searchsorted row by row (sampling), and
by returning the given arrays when nothing needs scaling (clip_by_norm, which its task allows).
"""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # float32 torch
    'rnn_step': '''def rnn_step(x_t, s_prev, U, W, V):
    import torch
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)
    s = torch.tanh(t(x_t) @ t(U).T + t(s_prev) @ t(W).T)
    return s.numpy(), torch.tanh(s @ t(V).T).numpy()
''',
    # torch autograd
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
    # returns the inputs when short
    'clip_by_norm': '''def clip_by_norm(grads, max_norm):
    total = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if total <= max_norm:
        return list(grads), total
    return [np.multiply(g, max_norm / total) for g in grads], total
''',
    # gate by gate, naive sigmoid that warns
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
    # float32 throughout
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
    # float32
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
    # torch autograd
    'sequence_cross_entropy': '''def sequence_cross_entropy(logits, targets):
    import torch
    y = torch.tensor(np.asarray(logits, dtype=np.float64), requires_grad=True)
    K = y.shape[-1]
    loss = torch.nn.functional.cross_entropy(y.reshape(-1, K), torch.as_tensor(np.asarray(targets), dtype=torch.long).reshape(-1))
    loss.backward()
    return loss.item(), y.grad.numpy()
''',
    # searchsorted per row
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
    # O_t from the previous state S_{t-1} instead of the new S_t
    'rnn_step': ('''def rnn_step(x_t, s_prev, U, W, V):
    """One step of deck 004's RNN: S_t = tanh(U X_t + W S_{t-1}), O_t = tanh(V S_t).

    x_t: (m,) or (n, m) inputs.  s_prev: (h,) or (n, h) previous state.
    U: (h, m).  W: (h, h).  V: (k, h).
    Returns (S_t, O_t): (h,) or (n, h), and (k,) or (n, k).
    """
    ### BEGIN SOLUTION
    s_t = np.tanh(np.asarray(x_t) @ np.asarray(U).T + np.asarray(s_prev) @ np.asarray(W).T)
    return s_t, np.tanh(np.asarray(s_prev) @ np.asarray(V).T)
    ### END SOLUTION''', ['rnn_step_tests']),
    # dW pairs delta_t with S_t instead of S_{t-1}
    'bptt': ('''def bptt(X, Y, U, W, V, s0):
    """Loss and gradients of deck 004's RNN on one sequence, by back-propagation through time.

    X: (T, m) inputs.  Y: (T, k) targets.  U: (h, m).  W: (h, h).  V: (k, h).  s0: (h,) first state.
    Loss L = 1/2 * sum_t ||O_t - Y_t||^2.
    Returns (L, dU, dW, dV): a float and arrays of shapes (h, m), (h, h), (k, h).
    """
    ### BEGIN SOLUTION
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    U, W, V = (np.asarray(a, dtype=float) for a in (U, W, V))
    # step 1: forward, keeping every state (S[0] = s0) and output
    S = [np.asarray(s0, dtype=float)]
    O = []
    for x_t in X:
        S.append(np.tanh(U @ x_t + W @ S[-1]))
        O.append(np.tanh(V @ S[-1]))
    loss = 0.5 * sum(float(np.sum((o - y) ** 2)) for o, y in zip(O, Y))
    # steps 2 and 3: errors from t = T down to 1, gradients accumulated over time
    dU, dW, dV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    from_next = np.zeros(W.shape[0])          # W^T delta_{t+1}: the memory's share of the error
    for t in reversed(range(len(X))):
        eps = (O[t] - Y[t]) * (1 - O[t] ** 2)
        delta = (V.T @ eps + from_next) * (1 - S[t + 1] ** 2)
        dV += np.outer(eps, S[t + 1])
        dU += np.outer(delta, X[t])
        dW += np.outer(delta, S[t + 1])
        from_next = W.T @ delta
    return loss, dU, dW, dV
    ### END SOLUTION''', ['bptt_tests']),
    # scales the caller's arrays in place
    'clip_by_norm': ('''def clip_by_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    for g in grads:
        g *= min(1.0, max_norm / total) if total > 0 else 1.0
    return grads, total
''', ['clip_tests']),
    # gates read in Colah's order f, i, C~, o instead of torch's i, f, C~, o
    'lstm_step_forward': ('''def lstm_step_forward(x, h_prev, c_prev, W, b):
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
    # misses the path from dh_t into C_t through h_t = o_t tanh(C_t)
    'lstm_step_backward': ('''def lstm_step_backward(dh, dc, cache):
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
    # the deck's direction of z: h = (1 - z) h_prev + z n
    'gru_cell': ('''def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """One GRU step as torch.nn.GRUCell computes it (gates stacked in the order r, z, n).

    x: (n, m).  h: (n, H).  W_ih: (3H, m).  W_hh: (3H, H).  b_ih, b_hh: (3H,).
    Returns h_new: (n, H).
    """
    ### BEGIN SOLUTION
    sigmoid = lambda a: 1 / (1 + np.exp(-a))
    in_r, in_z, in_n = np.split(np.asarray(x) @ np.asarray(W_ih).T + b_ih, 3, axis=-1)
    hid_r, hid_z, hid_n = np.split(np.asarray(h) @ np.asarray(W_hh).T + b_hh, 3, axis=-1)
    r, z = sigmoid(in_r + hid_r), sigmoid(in_z + hid_z)
    n = np.tanh(in_n + r * hid_n)            # torch: the reset gate scales W_hn h + b_hn
    return (1 - z) * h + z * n
    ### END SOLUTION''', ['gru_cell_tests']),
    # averages over the N sequences only (T times too large)
    'sequence_cross_entropy': ('''def sequence_cross_entropy(logits, targets):
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
    # multiplies the logits by the temperature
    'sample_next': ('''def sample_next(logits, temperature, u):
    scaled = np.asarray(logits, dtype=float) * temperature
    p = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    running = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    k = np.sum(running <= np.asarray(u, dtype=float)[:, None], axis=1)
    return np.minimum(k, running.shape[1] - 1)
''', ['sample_next_tests']),
}
