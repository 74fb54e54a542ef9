"""Planted answers for lesson 15_common_problems: correct answers written differently from the solution, and
plausible wrong ones with the test cell each must fail.

The correct ones: under-sampling by a per-class permutation in a loop; over-sampling with float32 rows and
`rng.integers`; SMOTE with the expanded distance formula, the diagonal set by `dist[np.arange(m), np.arange(m)] = np.inf`
(the idiom the hint describes) and `np.argpartition`, answering in float32; Xavier through torch's own initialisers with a
seeded `torch.Generator` (float32 tensors made into arrays); He from `standard_normal` and `random` scaled by hand, the
matrix drawn as (n_in, n_out) and transposed.
"""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    "undersample": '''def random_undersample(X, y, seed=0):
    rng = np.random.default_rng(seed)
    X, y = np.array(X), np.array(y)
    classes = sorted(set(y.tolist()))
    n_min = min(int(np.sum(y == c)) for c in classes)
    rows, labels = [], []
    for c in classes:
        for i in rng.permutation(np.flatnonzero(y == c))[:n_min]:
            rows.append(X[i])
            labels.append(y[i])
    return np.array(rows).reshape(len(labels), X.shape[1]), np.array(labels)
''',
    "oversample": '''def random_oversample(X, y, seed=0):
    rng = np.random.default_rng(seed)
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    keep = [np.arange(len(y))]
    for c, n_c in zip(classes, counts):
        members = np.flatnonzero(y == c)
        keep.append(members[rng.integers(0, len(members), size=counts.max() - n_c)])
    keep = np.concatenate(keep)
    return X[keep], y[keep]
''',
    "smote": '''def smote(X_min, n_new, k=5, seed=0):
    X = np.asarray(X_min, dtype=np.float64)
    m = X.shape[0]
    if k < 1 or k > m - 1:
        raise ValueError(f"need 1 <= k <= m - 1 = {m - 1}, got k = {k}")
    rng = np.random.default_rng(seed)
    squares = (X ** 2).sum(axis=1)
    dist = squares[:, None] + squares[None, :] - 2 * X @ X.T
    dist[np.arange(m), np.arange(m)] = np.inf
    nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
    i = rng.integers(0, m, size=n_new)
    j = nearest[i, rng.integers(0, k, size=n_new)]
    u = rng.random(n_new)[:, None]
    return (X[i] + u * (X[j] - X[i])).astype(np.float32)
''',
    "xavier_init": '''def xavier_init(n_out, n_in, uniform=False, seed=0):
    import torch
    generator = torch.Generator().manual_seed(int(seed))
    weights = torch.empty(n_out, n_in)
    if uniform:
        torch.nn.init.xavier_uniform_(weights, generator=generator)
    else:
        torch.nn.init.xavier_normal_(weights, generator=generator)
    return weights.numpy()
''',
    "he_init": '''import math


def he_init(n_out, n_in, uniform=False, seed=0):
    rng = np.random.default_rng(seed)
    std = math.sqrt(2.0 / n_in)
    if uniform:
        return ((2.0 * rng.random((n_in, n_out)) - 1.0) * math.sqrt(3.0) * std).T
    return (std * rng.standard_normal((n_in, n_out))).T
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    "undersample": ('''def random_undersample(X, y, seed=0):
    X, y = np.asarray(X), np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    keep = np.concatenate([np.random.choice(np.flatnonzero(y == c), size=counts.min(), replace=False) for c in classes])
    return X[keep], y[keep]
''', ["undersample_tests"]),
    "oversample": ('''def random_oversample(X, y, seed=0):
    X, y = np.asarray(X), np.asarray(y)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    keep = np.concatenate([rng.choice(np.flatnonzero(y == c), size=counts.max(), replace=True) for c in classes])
    return X[keep], y[keep]
''', ["oversample_tests"]),
    "smote": ('''def smote(X_min, n_new, k=5, seed=0):
    X_min = np.asarray(X_min, dtype=float)
    m = len(X_min)
    if not 1 <= k <= m - 1:
        raise ValueError("k out of range")
    rng = np.random.default_rng(seed)
    distance = ((X_min[:, None, :] - X_min[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(distance, np.inf)
    neighbours = np.argsort(distance, axis=1)[:, :k]
    anchor = rng.integers(0, m, size=n_new)
    partner = neighbours[anchor, rng.integers(0, k, size=n_new)]
    gap = rng.random((n_new, X_min.shape[1]))
    return X_min[anchor] + gap * (X_min[partner] - X_min[anchor])
''', ["smote_tests"]),
    "xavier_init": ('''def xavier_init(n_out, n_in, uniform=False, seed=0):
    rng = np.random.default_rng(seed)
    if uniform:
        bound = np.sqrt(3.0 / n_in)
        return rng.uniform(-bound, bound, size=(n_out, n_in))
    return rng.normal(0.0, np.sqrt(1.0 / n_in), size=(n_out, n_in))
''', ["xavier_init_tests"]),
    "he_init": ('''def he_init(n_out, n_in, uniform=False, seed=0):
    rng = np.random.default_rng(seed)
    variance = 2.0 / n_out
    if uniform:
        return rng.uniform(-np.sqrt(3 * variance), np.sqrt(3 * variance), size=(n_out, n_in))
    return rng.normal(0.0, np.sqrt(variance), size=(n_out, n_in))
''', ["he_init_tests"]),
}
