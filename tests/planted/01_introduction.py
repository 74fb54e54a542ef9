"""Planted answers for lesson 01_introduction: correct answers written differently from the solution, and plausible
wrong ones with the test cells each must fail (graded together, the model answers elsewhere)."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # choose the test indices without replacement; the training part is what is left, in sorted order
    "train_test_split": '''def train_test_split(n, test_fraction, seed):
    if not (0 < test_fraction < 1):
        raise ValueError("test_fraction must lie strictly between 0 and 1")
    rng = np.random.default_rng(seed)
    test_idx = rng.choice(n, size=math.ceil(test_fraction * n), replace=False)
    return np.setdiff1d(np.arange(n), test_idx), test_idx
''',
    # float32 arithmetic
    "mse": '''def mse(t, y):
    t = np.asarray(t, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    if t.shape != y.shape:
        raise ValueError(f"shapes differ: {t.shape} and {y.shape}")
    difference = t - y
    return float(np.mean(difference * difference))
''',
    # the normal equations, which the task allows at the degrees it tests
    "fit_polynomial": '''def fit_polynomial(x, t, degree):
    Phi = np.vander(np.asarray(x, dtype=float), degree + 1, increasing=True)
    return np.linalg.solve(Phi.T @ Phi, Phi.T @ np.asarray(t, dtype=float))
''',
    # a plain loop that keeps the first minimum (strict <)
    "choose_degree": '''def choose_degree(x_train, t_train, x_val, t_val, degrees, fit=fit_polynomial, error=mse):
    errors, best, best_error = [], None, None
    for d in degrees:
        e = float(error(t_val, evaluate_polynomial(fit(x_train, t_train, d), x_val)))
        errors.append(e)
        if best_error is None or e < best_error:
            best, best_error = d, e
    return best, np.array(errors)
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    "train_test_split": ('''def train_test_split(n, test_fraction, seed):
    if not 0 < test_fraction < 1:
        raise ValueError("bad fraction")
    np.random.seed(seed)  # numpy's global generator: the task asks for a local one
    order = np.random.permutation(n)
    n_test = math.ceil(test_fraction * n)
    return order[n_test:], order[:n_test]
''', ["train_test_split_tests"]),
    "mse": ('''def mse(t, y):
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t.shape != y.shape:
        raise ValueError("shapes differ")
    return float(np.sum((t - y) ** 2))  # the sum, not the mean
''', ["mse_tests"]),
    "fit_polynomial": ('''def fit_polynomial(x, t, degree):
    Phi = np.vander(np.asarray(x, dtype=float), degree + 1)  # decreasing powers
    return np.linalg.lstsq(Phi, np.asarray(t, dtype=float), rcond=None)[0]
''', ["fit_polynomial_tests"]),
    "choose_degree": ('''def choose_degree(x_train, t_train, x_val, t_val, degrees, fit=fit_polynomial, error=mse):
    errors = np.array([error(t_val, evaluate_polynomial(fit(x_train, t_train, d), x_val)) for d in degrees])
    return degrees[len(errors) - 1 - int(np.argmin(errors[::-1]))], errors  # the last one on a tie
''', ["choose_degree_tests"]),
}
