"""Planted answers for lesson 11_optimizers: correct answers written differently from the solution, and plausible wrong ones."""
# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks.
# They use float32 arithmetic, torch tensors, element-by-element loops, torch autograd, math instead of numpy,
# state.copy() with in-place updates on the copy, and while loops where the solution uses for loops. The grading
# test also makes every function warn first, which must cost nothing.
ALTERNATIVES = {
    "momentum_update": '''def momentum_update(w, g, state, eta=0.01, alpha=0.9):
    # float32 arithmetic; the previous change defaults to 0 when the state is empty
    previous = np.asarray(state["dw"], dtype=np.float32) if "dw" in state else np.float32(0.0)
    change = np.float32(-eta) * np.asarray(g, dtype=np.float32) + np.float32(alpha) * previous
    change = np.broadcast_to(change, np.shape(g)).copy()
    return np.asarray(w, dtype=np.float32) + change, {"dw": change}
''',
    "nesterov_update": '''import torch


def nesterov_update(w, g, state, eta=0.01, alpha=0.9):
    # torch tensors inside, numpy arrays out
    g_t = torch.as_tensor(np.asarray(g, dtype=float))
    b = alpha * torch.as_tensor(np.asarray(state.get("b", 0.0), dtype=float)) + g_t
    w_new = torch.as_tensor(np.asarray(w, dtype=float)) - eta * (g_t + alpha * b)
    return w_new.numpy(), {"b": b.numpy()}
''',
    "adagrad_update": '''def adagrad_update(w, g, state, eta=0.01, eps=1e-7):
    # an element-by-element loop over a copy of the state
    g = np.array(g, dtype=float)
    r = np.array(state["r"], dtype=float) if "r" in state else np.zeros_like(g)
    w_new = np.array(w, dtype=float)
    for i in np.ndindex(g.shape):
        r[i] += g[i] * g[i]
        w_new[i] -= eta * g[i] / (eps + r[i] ** 0.5)
    return w_new, {"r": r}
''',
    "adadelta_update": '''def adadelta_update(w, g, state, eta=1.0, rho=0.9, eps=1e-6):
    # the two averages kept in a copied dict and updated in place there
    g = np.asarray(g, dtype=float)
    new_state = {key: np.array(value, dtype=float) for key, value in state.items()}
    new_state.setdefault("Eg2", np.zeros_like(g))
    new_state.setdefault("Edw2", np.zeros_like(g))
    new_state["Eg2"] *= rho
    new_state["Eg2"] += (1 - rho) * np.square(g)
    dw = -g * np.sqrt((new_state["Edw2"] + eps) / (new_state["Eg2"] + eps))
    new_state["Edw2"] *= rho
    new_state["Edw2"] += (1 - rho) * np.square(dw)
    return np.asarray(w, dtype=float) + eta * dw, new_state
''',
    "rmsprop_update": '''import torch


def rmsprop_update(w, g, state, eta=0.01, beta=0.9, eps=1e-7):
    # torch arithmetic on float64 tensors
    g_t = torch.tensor(np.asarray(g, dtype=float))
    r = torch.tensor(np.asarray(state.get("r", np.zeros(g_t.shape)), dtype=float)).lerp(g_t ** 2, 1 - beta)
    step = eta * g_t / (r.sqrt() + eps)
    return (torch.tensor(np.asarray(w, dtype=float)) - step).numpy(), {"r": r.numpy()}
''',
    "adam_update": '''def adam_update(w, g, state, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    # float32 moments; the bias corrections folded into one step size, as Kingma & Ba's section 2 suggests
    g = np.asarray(g, dtype=np.float32)
    t = int(state.get("t", 0)) + 1
    m = np.float32(beta1) * np.asarray(state.get("m", np.zeros_like(g)), dtype=np.float32) + np.float32(1 - beta1) * g
    v = np.float32(beta2) * np.asarray(state.get("v", np.zeros_like(g)), dtype=np.float32) + np.float32(1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return np.asarray(w, dtype=float) - eta * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
''',
    "steps_to_reach": '''def steps_to_reach(update, surface, start, target, max_steps=1000, **hyper):
    # a while loop; numpy's overflow warnings are left on (a correct answer that warns)
    w, state, k = np.array(start, dtype=float), {}, 0
    if surface.loss(w) <= target:
        return 0
    while k < max_steps:
        w, state = update(w, surface.grad(w), state, **hyper)
        k += 1
        if not np.isfinite(w).all():
            return None
        if surface.loss(w) <= target:
            return k
    return None
''',
    "mlp_loss_grads": '''import torch


def mlp_loss_grads(params, X, t):
    # the same network in torch, differentiated by autograd
    P = {key: torch.tensor(np.array(value, dtype=float), requires_grad=True) for key, value in params.items()}
    hidden = torch.relu(torch.tensor(np.array(X, dtype=float)) @ P["W1"].T + P["b1"])
    scores = hidden @ P["W2"].T + P["b2"]
    loss = torch.nn.functional.cross_entropy(scores, torch.tensor(np.asarray(t), dtype=torch.long))
    loss.backward()
    return loss.item(), {key: value.grad.numpy() for key, value in P.items()}
''',
    "train": '''def train(loss_grads, update, params, X, t, epochs=1, batch_size=64, seed=0, eta_at=None, states=None, **hyper):
    # while loops over a running position, with a state dict built from copies
    current = {name: np.copy(value) for name, value in params.items()}
    states = {name: (states or {}).get(name, {}) for name in current}
    rng = np.random.default_rng(seed)
    losses, step, N = [], 0, len(X)
    epoch = 0
    while epoch < epochs:
        order = rng.permutation(N)
        position = 0
        while position < N:
            rows = order[position:position + batch_size]
            loss, grads = loss_grads(current, X[rows], t[rows])
            options = dict(hyper)
            if eta_at is not None:
                options["eta"] = eta_at(step)
            for name in list(current):
                current[name], states[name] = update(current[name], grads[name], states[name], **options)
            losses.append(float(loss))
            position += batch_size
            step += 1
        epoch += 1
    return current, states, losses
''',
    "schedules": '''import math


def step_lr(k, eta0, step_size, gamma=0.1):
    return eta0 * math.pow(gamma, math.floor(k / step_size))


def cosine_lr(k, eta0, T_max, eta_min=0.0):
    if k >= T_max:
        return eta_min
    return eta_min + 0.5 * (eta0 - eta_min) * (1 + math.cos(math.pi * k / T_max))


def warmup_lr(k, eta0, warmup_steps, start_factor=1 / 3):
    fraction = float(np.clip(k / warmup_steps, 0.0, 1.0))
    return eta0 * ((1 - fraction) * start_factor + fraction)
''',
    "adamw_update": '''import torch


def adamw_update(w, g, state, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    # torch's order: shrink the weights first, then take the Adam step
    w_t = torch.tensor(np.asarray(w, dtype=float)) * (1 - eta * weight_decay)
    g_t = torch.tensor(np.asarray(g, dtype=float))
    t = state.get("t", 0) + 1
    m = torch.tensor(np.asarray(state.get("m", np.zeros(g_t.shape)), dtype=float)) * beta1 + (1 - beta1) * g_t
    v = torch.tensor(np.asarray(state.get("v", np.zeros(g_t.shape)), dtype=float)) * beta2 + (1 - beta2) * g_t * g_t
    denominator = (v / (1 - beta2 ** t)).sqrt() + eps
    w_t = w_t - (eta / (1 - beta1 ** t)) * m / denominator
    return w_t.numpy(), {"m": m.numpy(), "v": v.numpy(), "t": t}
''',
    "plateau_update": '''import math


def plateau_update(eta, metric, state, factor=0.1, patience=10, threshold=1e-4):
    best = state["best"] if "best" in state else math.inf
    bad = state["bad_epochs"] if "bad_epochs" in state else 0
    improved = math.isinf(best) or metric < best - best * threshold
    best = metric if improved else best
    bad = 0 if improved else bad + 1
    cut = bad > patience
    return (eta * factor if cut else eta), {"best": best, "bad_epochs": 0 if cut else bad}
''',
}

# plausible wrong answers -> (the cell, the test cells that must fail); each of the others must still pass
MISTAKES = {
    "momentum_update": ('''def momentum_update(w, g, state, eta=0.01, alpha=0.9):
    # deck 004's printed sign, read with its own delta: uphill
    g = np.asarray(g, dtype=float)
    dw = eta * g + alpha * state.get("dw", np.zeros_like(g))
    return np.asarray(w, dtype=float) + dw, {"dw": dw}
''', ["momentum_update_tests"]),
    "nesterov_update": ('''def nesterov_update(w, g, state, eta=0.01, alpha=0.9):
    # plain momentum in torch's form
    g = np.asarray(g, dtype=float)
    b = alpha * state.get("b", np.zeros_like(g)) + g
    return np.asarray(w, dtype=float) - eta * b, {"b": b}
''', ["nesterov_update_tests"]),
    "adagrad_update": ('''def adagrad_update(w, g, state, eta=0.01, eps=1e-7):
    # eps inside the square root
    g = np.asarray(g, dtype=float)
    r = state.get("r", np.zeros_like(g)) + g ** 2
    return np.asarray(w, dtype=float) - eta * g / np.sqrt(r + eps), {"r": r}
''', ["adagrad_update_tests"]),
    "adadelta_update": ('''def adadelta_update(w, g, state, eta=1.0, rho=0.9, eps=1e-6):
    # the average of updates collects eta * dw
    g = np.asarray(g, dtype=float)
    Eg2 = rho * state.get("Eg2", np.zeros_like(g)) + (1 - rho) * g ** 2
    Edw2 = state.get("Edw2", np.zeros_like(g))
    dw = -eta * np.sqrt(Edw2 + eps) / np.sqrt(Eg2 + eps) * g
    Edw2 = rho * Edw2 + (1 - rho) * dw ** 2
    return np.asarray(w, dtype=float) + dw, {"Eg2": Eg2, "Edw2": Edw2}
''', ["adadelta_update_tests"]),
    "rmsprop_update": ('''def rmsprop_update(w, g, state, eta=0.01, beta=0.9, eps=1e-7):
    # the weights of the average swapped
    g = np.asarray(g, dtype=float)
    r = (1 - beta) * state.get("r", np.zeros_like(g)) + beta * g ** 2
    return np.asarray(w, dtype=float) - eta * g / (eps + np.sqrt(r)), {"r": r}
''', ["rmsprop_update_tests"]),
    "adam_update": ('''def adam_update(w, g, state, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    # eps inside the square root
    g = np.asarray(g, dtype=float)
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(g)) + (1 - beta1) * g
    v = beta2 * state.get("v", np.zeros_like(g)) + (1 - beta2) * g ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return np.asarray(w, dtype=float) - eta * m_hat / np.sqrt(v_hat + eps), {"m": m, "v": v, "t": t}
''', ["adam_update_tests"]),
    "steps_to_reach": ('''def steps_to_reach(update, surface, start, target, max_steps=1000, **hyper):
    # looks at the loss before each update, counting from 1: one step late, and 1 for a start on target
    w, state = np.asarray(start, dtype=float), {}
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, max_steps + 1):
            if surface.loss(w) <= target:
                return k
            w, state = update(w, surface.grad(w), state, **hyper)
            if not np.all(np.isfinite(w)):
                return None
    return None
''', ["steps_to_reach_tests"]),
    "mlp_loss_grads": ('''def mlp_loss_grads(params, X, t):
    # the gradients of the summed loss, with the mean loss
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1.T + b1
    A1 = np.maximum(Z1, 0)
    scores = A1 @ W2.T + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    P = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(P[np.arange(len(X)), t]))
    dscores = P.copy()
    dscores[np.arange(len(X)), t] -= 1
    dZ1 = dscores @ W2 * (Z1 > 0)
    return loss, {"W1": dZ1.T @ X, "b1": dZ1.sum(0), "W2": dscores.T @ A1, "b2": dscores.sum(0)}
''', ["mlp_loss_grads_tests"]),
    "train": ('''def train(loss_grads, update, params, X, t, epochs=1, batch_size=64, seed=0, eta_at=None, states=None, **hyper):
    # a new generator every epoch: every epoch sees the same order
    params = {name: np.array(value, dtype=float) for name, value in params.items()}
    states = {name: {} for name in params} if states is None else dict(states)
    losses, step = [], 0
    for _ in range(epochs):
        order = np.random.default_rng(seed).permutation(len(X))
        for first in range(0, len(X), batch_size):
            rows = order[first:first + batch_size]
            loss, grads = loss_grads(params, X[rows], t[rows])
            options = hyper if eta_at is None else {**hyper, "eta": eta_at(step)}
            for name in params:
                params[name], states[name] = update(params[name], grads[name], states[name], **options)
            losses.append(float(loss))
            step += 1
    return params, states, losses
''', ["train_tests"]),
    "schedules": ('''def step_lr(k, eta0, step_size, gamma=0.1):
    return eta0 * gamma ** (k // step_size)


def cosine_lr(k, eta0, T_max, eta_min=0.0):
    # torch's periodic cosine: climbs back after T_max
    return eta_min + (eta0 - eta_min) * (1 + np.cos(np.pi * k / T_max)) / 2


def warmup_lr(k, eta0, warmup_steps, start_factor=1 / 3):
    return eta0 * (start_factor + (1 - start_factor) * min(k, warmup_steps) / warmup_steps)
''', ["cosine_lr_tests"]),
    "adamw_update": ('''def adamw_update(w, g, state, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    # L2 inside Adam (coupled), not decoupled decay
    w = np.asarray(w, dtype=float)
    g = np.asarray(g, dtype=float) + weight_decay * w
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(g)) + (1 - beta1) * g
    v = beta2 * state.get("v", np.zeros_like(g)) + (1 - beta2) * g ** 2
    return w - eta * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps), {"m": m, "v": v, "t": t}
''', ["adamw_update_tests"]),
    "plateau_update": ('''def plateau_update(eta, metric, state, factor=0.1, patience=10, threshold=1e-4):
    # cuts after patience bad epochs, one too early
    best, bad = state.get("best", np.inf), state.get("bad_epochs", 0)
    if metric < best * (1 - threshold):
        best, bad = metric, 0
    else:
        bad += 1
    if bad >= patience:
        eta, bad = eta * factor, 0
    return eta, {"best": best, "bad_epochs": bad}
''', ["plateau_update_tests"]),
}
