"""torch on the CPU against CUDA for the training runs of lesson 12 (a CNN) and lesson 14 (two GANs).

    make bench        (or: .venv/bin/python benchmarks/gpu.py [--devices cpu cuda] [--repeats 3] [--threads 1])

Without a CUDA GPU it prints "no CUDA GPU: skipped" and exits 0; `--devices cpu` runs the CPU rows
alone, on any machine. The two runs are the lessons' own, on whichever device:

- CNN, lesson 12's DigitsCNN trained by its train_torch: conv 1->16 (3x3, padding 1), ReLU, max-pool 2,
  dense 256->10 (2,730 parameters), from the lesson's init_cnn weights (seed 0), on the 1,347 standardised
  training digits, shape (1347, 1, 8, 8), all on the device; plain SGD written out (p -= lr * p.grad),
  10 epochs (lr 0.1 for 8, then 0.01 for 2), batches of 32 in the order np.random.default_rng(epoch)
  gives, each batch loss read back as a float as the lesson records it. Result: accuracy on the 450 test
  digits (the lesson asks 95 %).
- GAN, lesson 14's train_gan: generator 2->16->16->1 and discriminator 1->16->16->1 MLPs with leaky
  ReLUs, 400 alternating steps (one D step, then one G step through the updated D) on batches of 128
  from the two-Gaussian mixture (modes ±2, std 0.4), Adam lr 3e-3, betas (0.5, 0.999), both losses
  read back as floats every step as the lesson records them. Result: W1 distance between 4000 samples
  of G and of the data (the lesson asks < 0.5).
- digit GAN, lesson 14's train_digit_gan: generator 16->256->64 (leaky ReLU, sigmoid pixels) and
  discriminator 64->256->1, noise U(-1, 1)^16, 400 alternating steps of plain SGD (lr 0.3) on batches
  of 64 training digits, the non-saturating loss, G(z_fixed) (450 images) kept every 25 steps as the
  lesson keeps it. Result: the lesson's IS-like score of the 450 final images, judged by its 64-32-10
  classifier (trained here, untimed; the lesson asks > 4.5, real test digits score about 8.9).

Each run trains from scratch with the same seeds. A figure is the median of --repeats runs after one
warm-up run, the GPU synchronised before the clock stops; "× CPU" is the time over the CPU's (below 1:
faster). torch on the CPU uses 1 thread, as the lessons set it. The networks are the lessons' tiny
ones: on a GPU every step is a handful of small kernel launches and copies, not arithmetic.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import wasserstein_distance
from torch import nn

from nnlab import datasets

CNN_SCHEDULE, CNN_BATCH = [0.1] * 8 + [0.01] * 2, 32   # lesson 12: the learning rate of each epoch
MODES, MODE_STD, NOISE_DIM, GAN_STEPS, GAN_BATCH = np.array([-2.0, 2.0]), 0.4, 2, 400, 128
DIGIT_NOISE, DIGIT_HIDDEN, DIGIT_STEPS, DIGIT_BATCH, DIGIT_EVERY = 16, 256, 400, 64, 25


def init_cnn(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Lesson 12's initial parameters: He-normal filters (16, 1, 3, 3), zero biases, dense weights (10, 256) of std 0.01."""
    return {"conv.weight": rng.normal(0.0, np.sqrt(2 / 9), size=(16, 1, 3, 3)), "conv.bias": np.zeros(16),
            "fc.weight": rng.normal(0.0, 0.01, size=(10, 256)), "fc.bias": np.zeros(10)}


class DigitsCNN(nn.Module):
    """Lesson 12's network: conv 3x3 (padding 1) -> ReLU -> max pool 2 -> flatten -> dense; (N, 1, 8, 8) -> (N, 10)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        return self.fc(F.max_pool2d(torch.relu(self.conv(x)), 2).flatten(1))


def train_cnn(where: torch.device, X_train: np.ndarray, y_train: np.ndarray) -> nn.Module:
    """Lesson 12's train_torch on `where`.  X_train: (n, 8, 8) standardised; y_train: (n,) labels 0..9."""
    model = DigitsCNN()
    model.load_state_dict({name: torch.tensor(value, dtype=torch.float32)
                           for name, value in init_cnn(np.random.default_rng(0)).items()})
    model.to(where)
    X = torch.tensor(X_train[:, None], dtype=torch.float32, device=where)           # (n, 1, 8, 8)
    y = torch.tensor(y_train, dtype=torch.long, device=where)
    losses = []
    for epoch, lr in enumerate(CNN_SCHEDULE):
        order = np.random.default_rng(epoch).permutation(len(X))
        for start in range(0, len(X), CNN_BATCH):
            batch = torch.as_tensor(order[start:start + CNN_BATCH], device=where)
            loss = F.cross_entropy(model(X[batch]), y[batch])
            model.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
            losses.append(loss.item())
    return model.eval()


def accuracy(model: nn.Module, where: torch.device, X: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        logits = model(torch.tensor(X, dtype=torch.float32, device=where)[:, None])   # (n, 10)
    return float(np.mean(logits.argmax(dim=1).cpu().numpy() == y))


def mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.LeakyReLU(0.2),
                         nn.Linear(n_hidden, n_hidden), nn.LeakyReLU(0.2), nn.Linear(n_hidden, n_out))


def sample_real(n: int, gen: np.random.Generator, where: torch.device) -> torch.Tensor:
    """n samples of the two-mode mixture: a float32 tensor (n, 1) on `where`."""
    x = MODES[gen.integers(0, len(MODES), size=n)] + MODE_STD * gen.standard_normal(n)
    return torch.as_tensor(x, dtype=torch.float32, device=where)[:, None]


def train_gan(where: torch.device) -> nn.Module:
    """Lesson 14's GAN trained on `where`; returns the generator, noise (m, 2) -> samples (m, 1)."""
    torch.manual_seed(0)
    data_rng = np.random.default_rng(0)
    G, D = mlp(NOISE_DIM, 16, 1).to(where), mlp(1, 16, 1).to(where)
    opt_G = torch.optim.Adam(G.parameters(), lr=3e-3, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999))
    history = []
    for _ in range(GAN_STEPS):
        x_real = sample_real(GAN_BATCH, data_rng, where)                   # (128, 1)
        z = torch.randn(GAN_BATCH, NOISE_DIM).to(where)                   # (128, 2), drawn on the CPU as in the lesson
        d_loss = F.softplus(-D(x_real)).mean() + F.softplus(D(G(z).detach())).mean()
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()
        g_loss = F.softplus(-D(G(z))).mean()                              # non-saturating, through the updated D
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()
        history.append((d_loss.item(), g_loss.item()))
    return G


def gan_w1(G: nn.Module, where: torch.device) -> float:
    """W1 distance between 4000 samples of G and 4000 of the data."""
    with torch.no_grad():
        fake = G(torch.randn(4000, NOISE_DIM).to(where)).cpu().numpy()[:, 0]
    return float(wasserstein_distance(fake, sample_real(4000, np.random.default_rng(2024), where).cpu().numpy()[:, 0]))


def train_digit_gan(where: torch.device, X_train: np.ndarray) -> np.ndarray:
    """Lesson 14's digit GAN trained on `where`; returns G(z_fixed), the 450 final images (450, 64).  X_train: (n, 64)."""
    X = torch.as_tensor(X_train, dtype=torch.float32, device=where)                 # the data live on the device
    z_fixed = (2 * torch.rand(450, DIGIT_NOISE, generator=torch.Generator().manual_seed(14)) - 1).to(where)
    torch.manual_seed(0)
    batches = np.random.default_rng(0)
    G = nn.Sequential(nn.Linear(DIGIT_NOISE, DIGIT_HIDDEN), nn.LeakyReLU(0.2), nn.Linear(DIGIT_HIDDEN, 64),
                      nn.Sigmoid()).to(where)
    D = nn.Sequential(nn.Linear(64, DIGIT_HIDDEN), nn.LeakyReLU(0.2), nn.Linear(DIGIT_HIDDEN, 1)).to(where)
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.3), torch.optim.SGD(D.parameters(), lr=0.3)
    shots, history = {}, []
    for step in range(DIGIT_STEPS + 1):
        if step % DIGIT_EVERY == 0:
            with torch.no_grad():
                shots[step] = G(z_fixed).cpu().numpy()                                # as the lesson keeps them
        if step == DIGIT_STEPS:
            break
        x_real = X[torch.as_tensor(batches.integers(0, len(X), DIGIT_BATCH), device=where)]   # (64, 64)
        z = (2 * torch.rand(DIGIT_BATCH, DIGIT_NOISE) - 1).to(where)               # drawn on the CPU, as in the lesson
        d_loss = F.softplus(-D(x_real)).mean() + F.softplus(D(G(z).detach())).mean()
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()
        g_loss = F.softplus(-D(G(z))).mean()
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()
        history.append((d_loss.item(), g_loss.item()))
    return shots[DIGIT_STEPS]


def digit_score(images: np.ndarray, X_train: np.ndarray, y_train: np.ndarray) -> float:
    """The lesson's IS-like score of `images` (n, 64), judged by its 64-32-10 classifier trained on the CPU."""
    torch.manual_seed(0)
    judge = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimizer = torch.optim.Adam(judge.parameters(), lr=0.01)
    X, y = torch.as_tensor(X_train, dtype=torch.float32), torch.as_tensor(y_train)
    for _ in range(150):
        loss = F.cross_entropy(judge(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        P = torch.softmax(judge(torch.as_tensor(images, dtype=torch.float32)), dim=1).double().numpy()   # (n, 10)
    p_bar = P.mean(axis=0)
    kl = np.sum(np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0) / p_bar), 0.0), axis=1)
    return float(np.exp(kl.mean()))


def timed(run, where: torch.device, repeats: int):
    """Median seconds of run() over `repeats` runs after a warm-up, and the last run's return value."""
    sync = torch.cuda.synchronize if where.type == "cuda" else (lambda: None)
    run()
    sync()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        sync()  # CUDA work is asynchronous: wait for it before stopping the clock
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", nargs="+", choices=["cpu", "cuda"], default=["cpu", "cuda"],
                        help="devices to time (default: cpu cuda; without CUDA the whole comparison is skipped)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per device (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as in the lessons)")
    args = parser.parse_args()
    if min(args.repeats, args.threads) < 1:
        parser.error("--repeats and --threads must be positive")
    if "cuda" in args.devices and not torch.cuda.is_available():
        print("torch on the CPU against CUDA, lessons 12 and 14: no CUDA GPU: skipped")
        return
    torch.set_num_threads(args.threads)
    (X_train, y_train), (X_test, y_test) = datasets.digits(seed=0, flatten=False)   # (1347, 8, 8), (450, 8, 8)
    mu, sigma = X_train.mean(), X_train.std()                                        # lesson 12's standardisation
    Xs_train, Xs_test = (X_train - mu) / sigma, (X_test - mu) / sigma
    cnn_steps = len(CNN_SCHEDULE) * -(-len(X_train) // CNN_BATCH)

    rows = []  # (workload, device, seconds, steps, result)
    for name in args.devices:
        where = torch.device(name)
        label = (f"cuda ({torch.cuda.get_device_name(where)})" if where.type == "cuda"
                 else f"cpu ({args.threads} thread{'s' if args.threads > 1 else ''})")
        seconds, model = timed(lambda: train_cnn(where, Xs_train, y_train), where, args.repeats)
        rows.append(("CNN, lesson 12", label, seconds, cnn_steps,
                     f"test accuracy {accuracy(model, where, Xs_test, y_test):.1%}"))
        seconds, G = timed(lambda: train_gan(where), where, args.repeats)
        rows.append(("GAN, lesson 14", label, seconds, GAN_STEPS, f"W1 to the data {gan_w1(G, where):.3f}"))
        X_digits = X_train.reshape(len(X_train), -1)                                           # (1347, 64)
        seconds, images = timed(lambda: train_digit_gan(where, X_digits), where, args.repeats)
        rows.append(("digit GAN, l. 14", label, seconds, DIGIT_STEPS,
                     f"IS-like score {digit_score(images, X_digits, y_train):.2f}"))

    print(f"torch training runs of the lessons, CPU against CUDA; median of {args.repeats} after a warm-up; "
          f"× CPU: time / the CPU's")
    print(f"CNN: 2,730 parameters, {len(CNN_SCHEDULE)} SGD epochs of {len(X_train)} digits in batches of {CNN_BATCH}; "
          f"GAN: two 16-16 MLPs, {GAN_STEPS} steps of {GAN_BATCH}; digit GAN: two 256-unit MLPs, "
          f"{DIGIT_STEPS} SGD steps of {DIGIT_BATCH}")
    width = max(len(row[1]) for row in rows)
    print(f"{'workload':<16} {'device':<{width}} {'s/run':>7} {'ms/step':>8} {'× CPU':>6}  result")
    cpu = {workload: seconds for workload, device, seconds, _, _ in rows if device.startswith("cpu")}
    for workload, device, seconds, steps, result in sorted(rows, key=lambda row: row[0]):
        ratio = f"{seconds / cpu[workload]:>6.2f}" if workload in cpu else f"{'-':>6}"
        print(f"{workload:<16} {device:<{width}} {seconds:>7.2f} {1000 * seconds / steps:>8.2f} {ratio}  {result}")


if __name__ == "__main__":
    main()
