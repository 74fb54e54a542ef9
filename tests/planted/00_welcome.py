"""Planted answers for lesson 00_welcome: correct answers written differently from the solution, and plausible
wrong ones with the test cells each must fail (graded together, the model answers elsewhere)."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # one np.dot per row in a Python loop (the task asks for no loop, but the tests grade only the values)
    "row_dots": '''def row_dots(A, B):
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    return np.array([np.dot(a, b) for a, b in zip(A, B)])
''',
    # torch tensors inside, a numpy array out
    "center_columns": '''import torch


def center_columns(X):
    X_t = torch.as_tensor(np.asarray(X, dtype=float))
    return (X_t - X_t.mean(dim=0, keepdim=True)).numpy()
''',
    # the expansion |x|^2 + |y|^2 - 2 x.y, clipped at 0 against rounding
    "pairwise_sq_distances": '''def pairwise_sq_distances(X, Y):
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    squared = (X ** 2).sum(axis=1)[:, None] + (Y ** 2).sum(axis=1)[None, :] - 2 * X @ Y.T
    return np.maximum(squared, 0.0)
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    "row_dots": ('''def row_dots(A, B):
    return (np.asarray(A, dtype=float) * np.asarray(B, dtype=float)).sum(axis=0)  # sums each column
''', ["row_dots_tests"]),
    "center_columns": ('''def center_columns(X):
    X = np.asarray(X, dtype=float)
    X -= X.mean(axis=0)  # changes the caller's array
    return X
''', ["center_columns_tests"]),
    "pairwise_sq_distances": ('''def pairwise_sq_distances(X, Y):
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    return np.sqrt(((X[:, None, :] - Y[None, :, :]) ** 2).sum(axis=-1))  # distances, not squared
''', ["pairwise_sq_distances_tests"]),
}
