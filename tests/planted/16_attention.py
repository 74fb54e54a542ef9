"""Planted answers for lesson 16_attention: correct answers written differently from the solution, and plausible
wrong ones with the test cell each must fail.

The correct ones use einsum and a log-mask that makes numpy warn (attention forward), float32 throughout (the
backward pass), one attend call per head (multi-head attention) and pure-python loops (positional encoding). The
mistakes are the classic slips each test names.
"""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # einsum, and the mask as log(mask) (log 0 = -inf, which makes numpy warn)
    'attention_forward': '''def attention_forward(Q, K, V, mask=None, scale=None):
    Q, K, V = np.asarray(Q, float), np.asarray(K, float), np.asarray(V, float)
    c = Q.shape[-1] ** -0.5 if scale is None else scale
    S = c * np.einsum("...qd,...kd->...qk", Q, K)
    if mask is not None:
        S = S + np.log(np.asarray(mask, dtype=float))     # log 0 = -inf, with a RuntimeWarning
    S = S - S.max(axis=-1, keepdims=True)
    A = np.exp(S) / np.exp(S).sum(axis=-1, keepdims=True)
    return np.einsum("...qk,...kv->...qv", A, V), dict(Q=Q, K=K, V=V, A=A, scale=c)
''',
    # float32 throughout, with einsum
    'attention_backward': '''def attention_backward(dout, cache):
    f = lambda a: np.asarray(a, dtype=np.float32)
    Q, K, V, A, g = f(cache["Q"]), f(cache["K"]), f(cache["V"]), f(cache["A"]), f(dout)
    c = np.float32(cache["scale"])
    dA = np.einsum("...qv,...kv->...qk", g, V)
    dS = A * dA - A * np.einsum("...qk,...qk->...q", A, dA)[..., None]
    return c * np.einsum("...qk,...kd->...qd", dS, K), c * np.einsum("...qk,...qd->...kd", dS, Q), np.einsum("...qk,...qv->...kv", A, g)
''',
    # a loop over the heads, one attend call per head, with an extra cache key
    'mha_forward': '''def mha_forward(x_q, x_kv, params, n_heads, attend, mask=None):
    E = np.shape(x_q)[-1]
    d = E // n_heads
    Q = np.asarray(x_q) @ np.asarray(params["W_q"]).T + params["b_q"]
    K = np.asarray(x_kv) @ np.asarray(params["W_k"]).T + params["b_k"]
    V = np.asarray(x_kv) @ np.asarray(params["W_v"]).T + params["b_v"]
    outs, maps = [], []
    for j in range(n_heads):
        cols = slice(j * d, (j + 1) * d)
        o, c = attend(Q[..., cols], K[..., cols], V[..., cols], mask=mask)
        outs.append(np.asarray(o)); maps.append(np.asarray(c["A"]))
    return np.concatenate(outs, axis=-1) @ np.asarray(params["W_o"]).T + params["b_o"], {"A": np.stack(maps, axis=1), "heads": n_heads}
''',
    # pure-python loops with math.sin and math.cos
    'positional_encoding': '''def positional_encoding(T, d):
    import math
    return np.array([[math.sin(p / 10000 ** (k / d)) if k % 2 == 0 else math.cos(p / 10000 ** ((k - 1) / d)) for k in range(d)] for p in range(T)])
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    # the masked scores set to 0 instead of -inf
    'attention_forward': ('''def attention_forward(Q, K, V, mask=None, scale=None):
    """Scaled dot-product attention: out = softmax(scale * Q K^T) V, the softmax over the keys.

    Q: (..., T_q, d_k).  K: (..., T_k, d_k).  V: (..., T_k, d_v).
    mask: None, or booleans (T_q, T_k) or (..., T_q, T_k), True where a query may attend to a key.
    scale: the factor on the scores; None means 1 / sqrt(d_k).
    Returns (out, cache): out (..., T_q, d_v); cache a dict with "Q", "K", "V", "A" (..., T_q, T_k) and "scale".
    """
    ### BEGIN SOLUTION
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    scale = 1 / np.sqrt(Q.shape[-1]) if scale is None else float(scale)
    scores = scale * (Q @ K.swapaxes(-1, -2))                       # (..., T_q, T_k)
    if mask is not None:
        scores = scores * mask                    # a masked key gets weight exactly 0
    scores = scores - scores.max(axis=-1, keepdims=True)            # the same softmax, and exp cannot overflow
    weights = np.exp(scores)
    A = weights / weights.sum(axis=-1, keepdims=True)
    return A @ V, {"Q": Q, "K": K, "V": V, "A": A, "scale": scale}
    ### END SOLUTION
''', ['attention_forward_tests']),
    # dS = A * dA: the softmax's mean term is missing
    'attention_backward': ('''def attention_backward(dout, cache):
    """Back-propagation through attention_forward.

    dout: (..., T_q, d_v) dL/d(out).  cache: the dict of attention_forward ("Q", "K", "V", "A", "scale").
    Returns (dQ, dK, dV), shaped like Q (..., T_q, d_k), K (..., T_k, d_k) and V (..., T_k, d_v).
    """
    ### BEGIN SOLUTION
    Q, K, V, A = (np.asarray(cache[key], dtype=float) for key in ("Q", "K", "V", "A"))
    dout, scale = np.asarray(dout, dtype=float), float(cache["scale"])
    dV = A.swapaxes(-1, -2) @ dout
    dA = dout @ V.swapaxes(-1, -2)                                   # (..., T_q, T_k)
    dS = A * dA          # the softmax's Jacobian, one row at a time
    return scale * (dS @ K), scale * (dS.swapaxes(-1, -2) @ Q), dV
    ### END SOLUTION
''', ['attention_backward_tests']),
    # (N, T, E) reshaped straight to (N, h, T, d), and back
    'mha_forward': ('''def mha_forward(x_q, x_kv, params, n_heads, attend, mask=None):
    """Multi-head attention: project, split into heads, attend in each head, join the heads, project again.

    x_q: (N, T_q, E) queries' sequences.  x_kv: (N, T_k, E) keys' and values' sequences.
    params: "W_q", "W_k", "W_v", "W_o" of shape (E, E) and "b_q", "b_k", "b_v", "b_o" of shape (E,).
    n_heads: divides E.  attend(Q, K, V, mask) -> (out, cache with "A"): the attention of exercise 1.
    mask: None or booleans (T_q, T_k), True where attention is allowed.
    Returns (out, cache): out (N, T_q, E); cache a dict with "A" of shape (N, n_heads, T_q, T_k).
    """
    ### BEGIN SOLUTION
    x_q, x_kv = np.asarray(x_q, dtype=float), np.asarray(x_kv, dtype=float)
    N, T_q, E = x_q.shape
    d = E // n_heads

    def split_heads(x, W, b):
        # project, then (N, T, E) -> (N, T, h, d) -> (N, h, T, d): head j holds columns j*d:(j+1)*d
        projected = x @ np.asarray(W, dtype=float).T + np.asarray(b, dtype=float)
        return projected.reshape(len(x), n_heads, x.shape[1], d)

    Q = split_heads(x_q, params["W_q"], params["b_q"])
    K = split_heads(x_kv, params["W_k"], params["b_k"])
    V = split_heads(x_kv, params["W_v"], params["b_v"])
    heads, cache = attend(Q, K, V, mask)                                   # every head at once: (N, h, T_q, d)
    joined = np.asarray(heads).reshape(N, T_q, E)    # the heads side by side again
    out = joined @ np.asarray(params["W_o"], dtype=float).T + np.asarray(params["b_o"], dtype=float)
    return out, {"A": np.asarray(cache["A"])}
    ### END SOLUTION
''', ['mha_forward_tests']),
    # the sines in the first half and the cosines in the second
    'positional_encoding': ('''def positional_encoding(T, d):
    """The sinusoidal positional encoding of Vaswani et al. (2017).

    T: the number of positions, p = 0 .. T - 1.  d: the (even) width.
    Returns PE of shape (T, d): PE[p, 2i] = sin(p * w_i), PE[p, 2i + 1] = cos(p * w_i), w_i = 10000 ** (-2i / d).
    """
    ### BEGIN SOLUTION
    positions = np.arange(T)[:, None]                           # (T, 1)
    omega = 10000.0 ** (-np.arange(0, d, 2) / d)               # (d/2,): omega_i = 10000^(-2i/d)
    PE = np.zeros((T, d))
    PE[:, :d // 2] = np.sin(positions * omega)
    PE[:, d // 2:] = np.cos(positions * omega)
    return PE
    ### END SOLUTION
''', ['positional_encoding_tests']),
}
