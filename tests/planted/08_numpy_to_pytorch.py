"""Planted answers for lesson 08_numpy_to_pytorch: correct answers written differently from the solution, and plausible
wrong ones."""
# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks. They use
# einsum with a dict cache, a boolean mask as the ReLU cache, torch autograd for the loss layer, a loop over a list of
# layers, float32 parameters with a shuffled copy of the data, an nn.ReLU attribute; accuracy_on makes torch warn
# (torch.tensor of a tensor), which must cost nothing.
ALTERNATIVES = {
    "affine_layer": '''def affine_forward(x, W, b):
    return np.einsum("ni,ji->nj", x, W) + b, {"x": x, "W": W}


def affine_backward(dout, cache):
    x, W = cache["x"], cache["W"]
    return np.einsum("nj,ji->ni", dout, W), {"W": np.einsum("nj,ni->ji", dout, x), "b": np.einsum("nj->j", dout)}
''',
    "relu_layer": '''def relu_forward(x):
    mask = x > 0
    return np.where(mask, x, 0.0), mask


def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0), {}
''',
    "softmax_cross_entropy": '''import torch


def softmax_cross_entropy(z, t):
    logits = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
    loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(np.asarray(t), dtype=torch.long))
    loss.backward()
    return loss.item(), logits.grad.numpy()
''',
    "mlp_loss": '''def mlp_loss(params, X, t):
    layers = [("affine", "1"), ("relu", None), ("affine", "2")]
    caches, out = [], X
    for kind, k in layers:
        if kind == "affine":
            out, cache = affine_forward(out, params["W" + k], params["b" + k])
        else:
            out, cache = relu_forward(out)
        caches.append(cache)
    loss, dout = softmax_cross_entropy(out, t)
    grads = {}
    for (kind, k), cache in zip(reversed(layers), reversed(caches)):
        if kind == "affine":
            dout, g = affine_backward(dout, cache)
            grads["W" + k], grads["b" + k] = g["W"], g["b"]
        else:
            dout, _ = relu_backward(dout, cache)
    return loss, grads
''',
    "sgd_train": '''def sgd_train(params, X, t, loss_fn, lr=0.1, batch_size=16, epochs=1, seed=0):
    rng = np.random.default_rng(seed)
    current = {name: value.astype(np.float32) for name, value in params.items()}
    losses = []
    N = X.shape[0]
    for epoch in range(epochs):
        order = np.arange(N)
        rng.shuffle(order)
        X_epoch, t_epoch = X[order], t[order]
        for first in range(0, N, batch_size):
            loss, grads = loss_fn(current, X_epoch[first:first + batch_size], t_epoch[first:first + batch_size])
            current = {name: current[name] - lr * grads[name] for name in current}
            losses.append(float(loss))
    return current, losses
''',
    "mlp_module": '''import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, n_in=64, n_hidden=64, n_out=10):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.activation = nn.ReLU()
        self.output = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.output(self.activation(self.hidden(x)))
''',
    "accuracy_on": '''def accuracy_on(model, X, t, device, batch_size=256):
    X = torch.tensor(X, dtype=torch.float32)            # warns when X is already a tensor: still right
    t = np.asarray(t.cpu() if torch.is_tensor(t) else t)
    mode = model.training
    model.eval()
    predicted = []
    with torch.no_grad():
        for i in range(0, X.shape[0], batch_size):
            predicted.append(model(X[i:i + batch_size].to(device)).argmax(dim=1).cpu().numpy())
    model.train(mode)
    predicted = np.concatenate(predicted)
    return float(np.mean(predicted == t)), np.flatnonzero(predicted != t)
''',
}

# plausible wrong answers -> (source, [grade ids of the test cells that must fail])
MISTAKES = {
    "affine_layer": (  # db averaged over the batch
        '''def affine_forward(x, W, b):
    return x @ W.T + b, (x, W)


def affine_backward(dout, cache):
    x, W = cache
    return dout @ W, {"W": dout.T @ x, "b": dout.mean(axis=0)}
''', ["affine_layer_tests"]),
    "relu_layer": (  # slope 1 at x = 0
        '''def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache >= 0), {}
''', ["relu_layer_tests"]),
    "softmax_cross_entropy": (  # log of a probability that rounds to 0
        '''def softmax_cross_entropy(z, t):
    t = np.asarray(t)
    N = len(t)
    E = np.exp(z - z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.log(P[np.arange(N), t]).mean()
    dz = P.copy()
    dz[np.arange(N), t] -= 1
    return float(loss), dz / N
''', ["softmax_cross_entropy_tests"]),
    "mlp_loss": (  # the backward pass skips the ReLU
        '''def mlp_loss(params, X, t):
    z1, c1 = affine_forward(X, params["W1"], params["b1"])
    h, cr = relu_forward(z1)
    z2, c2 = affine_forward(h, params["W2"], params["b2"])
    loss, dz2 = softmax_cross_entropy(z2, t)
    dh, g2 = affine_backward(dz2, c2)
    _, g1 = affine_backward(dh, c1)
    return loss, {"W1": g1["W"], "b1": g1["b"], "W2": g2["W"], "b2": g2["b"]}
''', ["mlp_loss_tests"]),
    "sgd_train": (  # a default batch_size of 32, where the task says 16
        '''def sgd_train(params, X, t, loss_fn, lr=0.1, batch_size=32, epochs=1, seed=0):
    params = {k: v.copy() for k, v in params.items()}
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[batch], t[batch])
            for name in params:
                params[name] -= lr * grads[name]
            losses.append(float(loss))
    return params, losses
''', ["sgd_train_tests"]),
    "mlp_module": (  # softmax after the output layer
        '''class MLP(nn.Module):
    def __init__(self, n_in=64, n_hidden=64, n_out=10):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.output = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return torch.softmax(self.output(torch.relu(self.hidden(x))), dim=1)
''', ["mlp_module_tests"]),
    "accuracy_on": (  # no model.eval(): dropout stays on
        '''def accuracy_on(model, X, t, device, batch_size=256):
    X = torch.tensor(X, dtype=torch.float32)            # warns when X is already a tensor: still right
    t = np.asarray(t.cpu() if torch.is_tensor(t) else t)
    mode = model.training
    predicted = []
    with torch.no_grad():
        for i in range(0, X.shape[0], batch_size):
            predicted.append(model(X[i:i + batch_size].to(device)).argmax(dim=1).cpu().numpy())
    model.train(mode)
    predicted = np.concatenate(predicted)
    return float(np.mean(predicted == t)), np.flatnonzero(predicted != t)
''', ["accuracy_on_tests"]),
}
