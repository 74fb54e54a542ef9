"""Planted answers for lesson 02_perceptron: correct answers written differently from the solution, and plausible
wrong ones with the test cells each must fail (graded together, the model answers elsewhere).

train_perceptron takes its update as an argument (step=update_step) and its tests pass a reference step, so a wrong
update_step costs update_step_tests alone."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # torch in float32, a numpy array out
    "net_input": '''import torch


def net_input(X, w, T):
    X_t = torch.as_tensor(np.asarray(X, dtype=np.float32))
    w_t = torch.as_tensor(np.asarray(w, dtype=np.float32))
    return (X_t @ w_t - T).numpy()
''',
    # numpy's Heaviside step with the value 1 at zero
    "predict": '''def predict(X, w, T):
    return np.heaviside(np.asarray(X, dtype=float) @ np.asarray(w, dtype=float) - T, 1.0).astype(int)
''',
    # the three cases written out
    "update_step": '''def update_step(w, x, t, T, eta=1.0):
    w, x = np.array(w, dtype=float), np.asarray(x, dtype=float)
    fired = float(np.dot(w, x)) >= T
    if fired and t == 0:
        return w - eta * x
    if not fired and t == 1:
        return w + eta * x
    return w
''',
    # returns the caller's own array when there is no mistake: the task allows it
    "sign_update": '''def sign_update(w, x, t):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    if (1 if float(w @ x) >= 0 else -1) == t:
        return w
    return w + t * x
''',
    # a while loop, counting the mistakes from the weights' change
    "train_perceptron": '''def train_perceptron(X, t, T=0.0, eta=1.0, max_epochs=100, step=update_step):
    X = np.asarray(X, dtype=float)
    w, mistakes, epoch = np.zeros(X.shape[1]), [], 0
    while epoch < max_epochs:
        wrong = 0
        for x, target in zip(X, t):
            wrong += int((float(x @ w) - T >= 0) != bool(target))
            w = np.asarray(step(w, x, target, T, eta), dtype=float)
        mistakes.append(wrong)
        epoch += 1
        if wrong == 0:
            break
    return w, mistakes
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    "predict": ('''def predict(X, w, T):
    return (np.asarray(X, dtype=float) @ np.asarray(w, dtype=float) - T > 0).astype(int)  # z = 0 does not fire
''', ["predict_tests"]),
    "update_step": ('''def update_step(w, x, t, T, eta=1.0):
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    y = 1 if x @ w - T >= 0 else 0
    w += eta * (t - y) * x  # changes the caller's array
    return w
''', ["update_step_tests"]),
    "sign_update": ('''def sign_update(w, x, t):
    w, x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
    return w + t * x if np.sign(w @ x) != t else w.copy()  # np.sign(0) is 0, not +1
''', ["sign_update_tests"]),
    "train_perceptron": ('''def train_perceptron(X, t, T=0.0, eta=1.0, max_epochs=100, step=update_step):
    X = np.asarray(X, dtype=float)
    w, mistakes = np.zeros(X.shape[1]), []
    for _ in range(max_epochs):
        wrong = 0
        for x, target in zip(X, t):
            w = np.asarray(step(w, x, target, T, eta), dtype=float)
            wrong += int(int(x @ w - T >= 0) != target)  # judged after the update, not before
        mistakes.append(wrong)
        if wrong == 0:
            break
    return w, mistakes
''', ["train_perceptron_tests"]),
}
