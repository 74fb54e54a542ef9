"""Planted answers for lesson 06_gradient_descent: correct answers written differently from the solution."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # the mean of the per-sample gradients, one sample at a time
    "gradient_step": '''def gradient_step(w, X, t, eta):
    w = np.array(w, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    gradient = np.zeros_like(w)
    for x_i, t_i in zip(X, t):
        gradient += -(t_i - x_i @ w) * x_i
    return w - eta * gradient / len(t)
''',
    # the gradient by torch's autograd on the same loss, in float64
    "batch_gradient_descent": '''import torch


def batch_gradient_descent(X, y, w0, eta, epochs, tol=0.0):
    X_ = torch.as_tensor(np.asarray(X, dtype=np.float64))
    y_ = torch.as_tensor(np.asarray(y, dtype=np.float64))
    w = torch.tensor(np.asarray(w0, dtype=np.float64))
    losses = [mse_loss(w.numpy().copy(), X, y)]
    epoch = 0
    while epoch < epochs:
        w_var = w.clone().requires_grad_(True)
        loss = 0.5 * torch.mean((y_ - X_ @ w_var) ** 2)
        loss.backward()
        w_new = (w_var - eta * w_var.grad).detach()
        losses.append(mse_loss(w_new.numpy().copy(), X, y))
        step = float(torch.linalg.norm(w_new - w))
        w = w_new
        epoch += 1
        if step <= tol:
            break
    return w.numpy().copy(), losses
''',
    # np.array_split of one permutation into the right number of pieces
    "minibatches": '''def minibatches(X, y, batch_size, rng):
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    X, y = np.asarray(X), np.asarray(y)
    n = len(y)
    order = rng.permutation(n)
    cuts = list(range(batch_size, n, batch_size))
    for piece in np.split(order, cuts):
        if len(piece):
            yield (X[piece], y[piece])
''',
    # a while loop over the epochs and a local copy of the weights
    "minibatch_gradient_descent": '''def minibatch_gradient_descent(X, y, w0, eta, epochs, batch_size, seed=0):
    generator = np.random.default_rng(seed)
    weights = np.asarray(w0, dtype=np.float64).copy()
    history = [mse_loss(weights, X, y)]
    epoch = 0
    while epoch < epochs:
        for inputs, targets in minibatches(X, y, batch_size, generator):
            weights = gradient_step(weights, inputs, targets, eta)
        history.append(mse_loss(weights, X, y))
        epoch += 1
    return weights, history
''',
}

# plausible wrong answers -> (the cell, the test cells that must fail)
MISTAKES = {
    # the gradient's sign flipped: steps uphill
    "gradient_step": ('''def gradient_step(w, X, y, eta):
    w, X, y = (np.asarray(a, dtype=float) for a in (w, X, y))
    return w + eta * (-X.T @ (y - X @ w) / len(y))
''', ["gradient_step_tests"]),
    # sampling with replacement: some samples twice, some never
    "minibatches": ('''def minibatches(X, y, batch_size, rng):
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    X, y = np.asarray(X), np.asarray(y)
    order = rng.integers(0, len(y), size=len(y))
    for start in range(0, len(y), batch_size):
        yield X[order[start:start + batch_size]], y[order[start:start + batch_size]]
''', ["minibatches_tests"]),
    # the generator created inside the epoch loop: every epoch shuffled the same way
    "minibatch_gradient_descent": ('''def minibatch_gradient_descent(X, y, w0, eta, epochs, batch_size, seed=0):
    w = np.array(w0, dtype=float)
    losses = [mse_loss(w, X, y)]
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, np.random.default_rng(seed)):
            w = gradient_step(w, X_batch, y_batch, eta)
        losses.append(mse_loss(w, X, y))
    return w, losses
''', ["minibatch_gradient_descent_tests"]),
}
