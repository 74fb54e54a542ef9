"""Planted answers for lesson 14_gan: correct answers written differently from the solution, and plausible wrong ones."""
# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks.
# They use logsigmoid where the solution uses softplus, a hand-written stable softplus, one forward pass of D on the real
# and fake batch together, G(z) computed once and reused by both steps, float(tensor) (which makes torch warn: the tensor
# still carries its graph), the inverse-CDF form of W1, scipy's xlogy and a float32 loop for the score.
ALTERNATIVES = {
    "discriminator_loss": '''def discriminator_loss(real_logits, fake_logits):
    # log D = logsigmoid(s) and log(1 - D) = logsigmoid(-s), both stable
    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())
''',
    "generator_losses": '''def _softplus(s):
    """log(1 + e^s) without overflow: max(s, 0) + log(1 + e^-|s|)."""
    return torch.clamp(s, min=0) + torch.log1p(torch.exp(-s.abs()))


def generator_loss_saturating(fake_logits):
    return -_softplus(fake_logits).sum() / fake_logits.numel()


def generator_loss_nonsaturating(fake_logits):
    return torch.mean(_softplus(-fake_logits))
''',
    "train_step": '''def train_step(G, D, opt_G, opt_D, x_real, z, nonsaturating=True):
    m = len(x_real)
    fake = G(z)                                        # computed once, reused by the G step
    opt_D.zero_grad()
    logits = D(torch.cat([x_real, fake.detach()]))     # one pass of D over both batches
    d_loss = discriminator_loss(logits[:m], logits[m:])
    d_loss.backward()
    opt_D.step()
    opt_G.zero_grad()
    s = D(fake)                                        # the updated D; G has not moved, so fake is still G(z)
    g_loss = generator_loss_nonsaturating(s) if nonsaturating else generator_loss_saturating(s)
    g_loss.backward()
    opt_G.step()
    return float(d_loss), float(g_loss)                # torch warns here: the tensors still carry their graph
''',
    "wasserstein_1d": '''def wasserstein_1d(u, v):
    # W1 = integral over the levels q in (0, 1) of |F_u^-1(q) - F_v^-1(q)|: both inverse CDFs are step functions
    u = np.sort(np.asarray(to_numpy(u), dtype=float).ravel())
    v = np.sort(np.asarray(to_numpy(v), dtype=float).ravel())
    levels = np.unique(np.concatenate([np.arange(1, len(u) + 1) / len(u), np.arange(1, len(v) + 1) / len(v)]))
    widths = np.diff(np.concatenate([[0.0], levels]))
    mid = levels - widths / 2                          # a level inside each interval
    qu = u[np.minimum((mid * len(u)).astype(int), len(u) - 1)]
    qv = v[np.minimum((mid * len(v)).astype(int), len(v) - 1)]
    return float(np.sum(np.abs(qu - qv) * widths))
''',
    "inception_score": '''from scipy.special import xlogy


def inception_score(P):
    P = np.array(P, dtype=np.float32)                  # float32 throughout, rows in a loop
    p_bar = P.mean(axis=0)
    total = 0.0
    for row in P:
        total += float(np.sum(xlogy(row, row) - xlogy(row, p_bar)))   # xlogy(0, .) = 0
    return float(np.exp(total / len(P)))
''',
}

# grade id of the answer cell -> (a plausible wrong cell, the test cells that must fail)
MISTAKES = {
    "discriminator_loss": ('''def discriminator_loss(real_logits, fake_logits):
    D_real, D_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    return -(torch.log(D_real).mean() + torch.log(1 - D_fake).mean())    # -inf / nan for confident logits
''', ["discriminator_loss_tests"]),
    "generator_losses": ('''def generator_loss_saturating(fake_logits):
    return F.softplus(fake_logits).mean()              # the sign: this is -log(1 - D), which G would maximise


def generator_loss_nonsaturating(fake_logits):
    return F.softplus(-fake_logits).mean()
''', ["generator_losses_tests"]),
    "train_step": ('''def train_step(G, D, opt_G, opt_D, x_real, z, nonsaturating=True):
    fake = G(z)
    d_loss = discriminator_loss(D(x_real), D(fake))    # not detached: the D loss also writes gradients into G
    opt_D.zero_grad()
    d_loss.backward()
    opt_D.step()
    s = D(G(z))
    g_loss = generator_loss_nonsaturating(s) if nonsaturating else generator_loss_saturating(s)
    g_loss.backward()                                  # no opt_G.zero_grad(): G steps on both losses' gradients
    opt_G.step()
    return d_loss.item(), g_loss.item()
''', ["train_step_tests"]),
    "wasserstein_1d": ('''def wasserstein_1d(u, v):
    u = np.sort(np.asarray(to_numpy(u), dtype=float).ravel())
    v = np.sort(np.asarray(to_numpy(v), dtype=float).ravel())
    n = min(len(u), len(v))                            # the equal-size shortcut, cut to the shorter sample
    return float(np.mean(np.abs(u[:n] - v[:n])))
''', ["wasserstein_1d_tests"]),
    "inception_score": ('''def inception_score(P):
    P = np.asarray(P, dtype=float)
    p_bar = P.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.sum(P * np.log(P / p_bar), axis=1)     # 0 * log 0 gives nan
    return float(np.exp(kl.mean()))
''', ["inception_score_tests"]),
}
