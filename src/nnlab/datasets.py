"""Small data sets made on the spot: logic gates, separable point clouds, XOR.

Every function returns ``X`` with shape ``(n, d)`` (float64) and labels ``y`` with shape ``(n,)``
(int64), 0/1 by default or -1/+1 with ``signed=True``, and is deterministic for a given seed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

# Rows in the order of deck 003's training sets: T0 = (0, 0), T1 = (0, 1), T2 = (1, 0), T3 = (1, 1).
GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATE_OUTPUTS = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "nor": [1, 0, 0, 0],
    "xor": [0, 1, 1, 0],
    "xnor": [1, 0, 0, 1],
}


def _labels(y01: np.ndarray, signed: bool) -> np.ndarray:
    y01 = np.asarray(y01, dtype=np.int64)
    return 2 * y01 - 1 if signed else y01


def _positive_int(name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def logic_gate(name: str, *, signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The truth table of a two-input Boolean gate.

    Returns ``X`` of shape ``(4, 2)`` with rows (0,0), (0,1), (1,0), (1,1) and ``y`` of shape
    ``(4,)``. ``name`` is one of and, or, nand, nor, xor, xnor (any case).
    """
    key = str(name).lower()
    if key not in GATE_OUTPUTS:
        raise ValueError(f"unknown gate {name!r}: expected one of {', '.join(GATE_OUTPUTS)}")
    return GATE_INPUTS.copy(), _labels(GATE_OUTPUTS[key], signed)


def linearly_separable(n: int = 100, d: int = 2, *, margin: float = 0.1, seed: int = 0,
                       signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Points in the cube [-1, 1]^d split by a random hyperplane, none closer to it than ``margin``.

    The hyperplane is ``u · x + c = 0`` with a random unit normal ``u`` and ``|c| <= 0.3``; a point
    is labelled 1 (or +1) on the side ``u`` points to. Both classes always appear. Returns ``X`` of
    shape ``(n, d)`` and ``y`` of shape ``(n,)``.
    """
    n, d = _positive_int("n", n), _positive_int("d", d)
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin!r}")
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=d)
    normal /= np.linalg.norm(normal)
    offset = rng.uniform(-0.3, 0.3)
    points = np.empty((0, d))
    while len(points) < n:  # rejection sampling; about half the draws survive for margin < 0.5
        candidates = rng.uniform(-1, 1, size=(4 * n, d))
        distance = candidates @ normal + offset
        points = np.vstack([points, candidates[np.abs(distance) >= margin]])
    X = points[:n]
    y = (X @ normal + offset > 0).astype(np.int64)
    if n >= 2 and y.min() == y.max():  # guarantee both classes: mirror one point across the plane
        X[0] -= 2 * (X[0] @ normal + offset) * normal
        y[0] = 1 - y[0]
    return X, _labels(y, signed)


def blobs(n: int = 100, *, centers=((-1.0, -1.0), (1.0, 1.0)), spread: float = 0.5, seed: int = 0,
          signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clouds, one per row of ``centers`` (shape ``(k, d)``), labelled 0 … k-1.

    Points are shared out between the clouds as evenly as possible. ``signed=True`` needs k = 2.
    Returns ``X`` of shape ``(n, d)`` and ``y`` of shape ``(n,)``. Far-apart centres with a small
    spread give separable data, but only ``linearly_separable`` guarantees it.
    """
    n = _positive_int("n", n)
    centers = np.asarray(centers, dtype=float)
    if centers.ndim != 2 or len(centers) < 2:
        raise ValueError(f"centers must have shape (k, d) with k >= 2, got shape {centers.shape}")
    if signed and len(centers) != 2:
        raise ValueError(f"signed labels need exactly 2 centers, got {len(centers)}")
    if spread < 0:
        raise ValueError(f"spread must be >= 0, got {spread!r}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(centers)
    X = centers[y] + spread * rng.normal(size=(n, centers.shape[1]))
    return X, _labels(y, signed)


def xor(n: int = 200, *, noise: float = 0.15, seed: int = 0,
        signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of the XOR truth table: points around the corners of the unit square.

    A point near (a, b) is labelled ``a XOR b``. Returns ``X`` of shape ``(n, 2)`` and ``y`` of
    shape ``(n,)``; no straight line separates the two classes.
    """
    n = _positive_int("n", n)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    corners = np.arange(n) % 4
    X = GATE_INPUTS[corners] + noise * rng.normal(size=(n, 2))
    y = np.array(GATE_OUTPUTS["xor"])[corners]
    return X, _labels(y, signed)


def circles(n: int = 200, *, noise: float = 0.1, seed: int = 0,
            signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A disc inside a ring: the TensorFlow Playground's "circle" data set, which no line separates.

    Points alternate between the classes (row ``i`` has class ``1 - i % 2``): class 1 (or +1) lies in
    the disc of radius 0.5 around the origin, class 0 (or -1) in the ring between radii 0.7 and 1,
    at uniformly random angles and radii; then every coordinate gets ``noise * N(0, 1)``. Returns
    ``X`` of shape ``(n, 2)`` and ``y`` of shape ``(n,)``.
    """
    n = _positive_int("n", n)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    inside = (np.arange(n) % 2 == 0).astype(np.int64)
    radius = np.where(inside == 1, rng.uniform(0.0, 0.5, size=n), rng.uniform(0.7, 1.0, size=n))
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]) + noise * rng.normal(size=(n, 2))
    return X, _labels(inside, signed)


def spirals(n: int = 300, classes: int = 3, *, turns: float = 1.0, noise: float = 0.2,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: the classic 2-D problem no linear classifier solves.

    Arm ``c`` holds the points ``r (cos θ, sin θ)`` with radii ``r`` evenly spaced in ``(0, 1]`` and
    angles ``θ = 2π c / classes + 2π · turns · r + noise · N(0, 1)``: each arm winds ``turns`` times
    around the origin, and ``noise`` (in radians) blurs it. The ``n`` points are shared out between
    the arms as evenly as possible, arm by arm (rows of class 0 first). Returns ``X`` of shape
    ``(n, 2)`` (float64, inside the unit disc) and labels ``y`` of shape ``(n,)`` (int64, 0 …
    classes-1); deterministic for a given seed, so two seeds give a training and a test set.
    """
    n, classes = _positive_int("n", n), _positive_int("classes", classes)
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes}")
    if not np.isfinite(turns) or turns < 0:
        raise ValueError(f"turns must be a finite number >= 0, got {turns!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    y = np.sort(np.arange(n) % classes)
    X = np.empty((n, 2))
    for c in range(classes):
        rows = np.flatnonzero(y == c)
        radius = np.linspace(0.0, 1.0, len(rows) + 1)[1:]
        angle = 2 * np.pi * c / classes + 2 * np.pi * turns * radius + noise * rng.normal(size=len(rows))
        X[rows] = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X, y.astype(np.int64)


def noisy_function(n: int = 30, f=None, *, noise: float = 0.2, low: float = 0.0, high: float = 1.0,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of a 1-D function, for regression: ``y = f(x) + noise * N(0, 1)``.

    ``x`` is drawn uniformly from ``[low, high]`` (in random order, not sorted) and ``f`` maps an
    array of shape ``(n,)`` to one of shape ``(n,)``; the default is ``sin(2 pi x)``, the classic
    curve for showing under- and overfitting with polynomials. Unlike the classification sets above,
    this returns a 1-D input: ``x`` of shape ``(n,)`` (use ``x[:, None]`` for an ``(n, 1)`` matrix)
    and targets ``y`` of shape ``(n,)``, both float64. Deterministic for a given seed.
    """
    n = _positive_int("n", n)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    if not low < high:
        raise ValueError(f"noisy_function needs low < high, got {low!r} and {high!r}")
    if f is None:
        f = lambda t: np.sin(2 * np.pi * t)  # noqa: E731
    elif not callable(f):
        raise ValueError(f"f must be a function from an array of shape (n,) to shape (n,), got {type(f).__name__}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=n)
    clean = np.asarray(f(x), dtype=float)
    if clean.shape != (n,):
        raise ValueError(f"f(x) must return shape ({n},) for x of shape ({n},), got shape {clean.shape}")
    return x, clean + noise * rng.normal(size=n)


# --- handwritten digits: scikit-learn's 8x8 set (bundled, offline) and real MNIST from IDX files ---------------


def _stratified_split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` that put ``round(test_size * n_c)`` samples of every class c in the test set."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(test_size * len(members)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    # shuffle across classes too, so that the first rows are not all zeros, then all ones...
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits file read directly: pixels (1797, 64) in 0 … 16 and labels (1797,) int64.

    The same numbers as ``sklearn.datasets.load_digits()``, without importing scikit-learn and SciPy
    (about a second per lesson); where the file is not where scikit-learn keeps it, scikit-learn loads it.
    """
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits
        bunch = load_digits()
        return bunch.data, bunch.target.astype(np.int64)
    table = np.loadtxt(path, delimiter=",")                          # (1797, 65): 64 pixels, then the label
    return table[:, :-1], table[:, -1].astype(np.int64)


def digits(*, test_size: float = 0.25, seed: int = 0, flatten: bool = True, dtype=np.float64):
    """scikit-learn's handwritten digits (UCI, 1,797 images of 8 x 8 pixels, 10 classes), split for you.

    The images ship with scikit-learn, so this works offline. Pixels (0 … 16 in the source) are
    scaled to [0, 1]. The split is stratified (each digit keeps its share in both parts) and
    deterministic for a given ``seed``.

    Returns ``(X_train, y_train), (X_test, y_test)``: images of shape ``(n, 64)`` (or ``(n, 8, 8)``
    with ``flatten=False``) and dtype ``dtype``, labels of shape ``(n,)``, int64, 0 … 9. With the
    default ``test_size=0.25`` there are 1,347 training and 450 test images.
    """
    if not isinstance(test_size, (float, int)) or not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction strictly between 0 and 1, got {test_size!r}")
    pixels, labels = _bundled_digits()
    images = (pixels.reshape(-1, 8, 8) / 16.0).astype(dtype)      # (1797, 8, 8), values in [0, 1]
    if flatten:
        images = images.reshape(len(images), -1)                   # (1797, 64)
    train, test = _stratified_split(labels, float(test_size), seed)
    return (images[train], labels[train]), (images[test], labels[test])


# The four files of the MNIST distribution (LeCun, Cortes & Burges), and the SHA-256 of the canonical
# copies, gzipped and not, as served by the usual mirrors (yann.lecun.com, the CVDF and ossci mirrors).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
DATA_VARIABLE = "NNLAB_DATA"
# IDX type codes (the third byte of the magic number) and the big-endian numpy type they stand for
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def mnist_folder(folder=None):
    """Where ``mnist`` looks for its files, as a ``pathlib.Path``; nothing is created.

    First match wins: ``folder`` when given; ``$NNLAB_DATA/mnist`` when the environment variable
    ``NNLAB_DATA`` is set (the root of the course's data); else ``~/.cache/nnlab/mnist``.
    """
    from pathlib import Path
    import os

    if folder is not None:
        return Path(folder).expanduser()
    root = os.environ.get(DATA_VARIABLE)
    if root:
        return Path(root).expanduser() / "mnist"
    return Path.home() / ".cache" / "nnlab" / "mnist"


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the format of MNIST), gzipped (name ends in ``.gz``) or not.

    The header is two zero bytes, a type code (0x08 = unsigned byte … 0x0E = float64), the number
    of dimensions d, then d big-endian 32-bit sizes; the data follow in C order. Returns an array
    of that shape (``(n, 28, 28)`` uint8 for MNIST images, ``(n,)`` for labels) in native byte
    order. Raises ``ValueError`` naming the file when the magic number or the size is wrong.
    """
    import gzip
    from pathlib import Path

    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; expected "
                         f"00 00 <type 08..0e> <dimensions>, e.g. 00000803 for images, 00000801 for labels)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: the header promises {ndim} dimensions but the file ends after {len(raw)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: the header says shape {shape} ({expected} bytes of data) but the file has "
                         f"{len(raw) - header} bytes after its header: truncated or corrupt")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _sha256(path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _find_mnist_files(folder) -> dict:
    """``{key: path}`` for the four MNIST files in ``folder`` (gzipped preferred), or a clear FileNotFoundError."""
    found, missing = {}, []
    for key, stem in MNIST_FILES.items():
        candidates = [folder / f"{stem}.gz", folder / stem]
        present = [c for c in candidates if c.is_file()]
        if present:
            found[key] = present[0]
        else:
            missing.append(stem)
    if missing:
        names = "\n".join(f"  {folder / stem}.gz   (or {stem}, unzipped)" for stem in missing)
        raise FileNotFoundError(
            f"MNIST files missing: nnlab never downloads data, so put these {len(missing)} file(s) in place:\n"
            f"{names}\n"
            f"They are the four files of the MNIST distribution (yann.lecun.com/exdb/mnist or any mirror, e.g. "
            f"storage.googleapis.com/cvdf-datasets/mnist/). To keep them elsewhere, pass mnist(folder=...) or set "
            f"{DATA_VARIABLE} to a folder that contains mnist/. Offline, datasets.digits() has 8x8 digits.")
    return found


def mnist(folder=None, *, flatten: bool = False, dtype=np.float32, verify: bool = True):
    """The MNIST handwritten digits (60,000 training and 10,000 test images of 28 x 28), from local files.

    Reads the four IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped (``.gz``) or not, from
    ``mnist_folder(folder)`` (the argument, else ``$NNLAB_DATA/mnist``, else ``~/.cache/nnlab/mnist``).
    It never downloads: when a file is missing it raises ``FileNotFoundError`` naming every missing
    file and the folder to put it in. With ``verify=True`` a file whose name is one of the canonical
    names must also have the canonical SHA-256 (``MNIST_SHA256``); pass ``verify=False`` to read other
    IDX files laid out the same way (a subset, a variant such as Fashion-MNIST).

    Returns ``(X_train, y_train), (X_test, y_test)``: images scaled to [0, 1] with dtype ``dtype``
    (float32 by default: 70,000 float64 images would take 440 MB), shape ``(n, 28, 28)`` or
    ``(n, 784)`` with ``flatten=True``; labels int64 of shape ``(n,)``. Raises ``ValueError`` when a
    file has the wrong magic number, checksum or shape (images must be ``(n, rows, cols)`` with the
    same rows and columns in both sets, labels ``(n,)`` with the same n and values 0 … 9).
    """
    where = mnist_folder(folder)
    paths = _find_mnist_files(where)
    if verify:
        for path in paths.values():
            known = MNIST_SHA256.get(path.name)
            if known is not None and _sha256(path) != known:
                raise ValueError(f"{path}: SHA-256 is {_sha256(path)}, expected {known} for the canonical "
                                 f"MNIST file: the file is damaged or a different version (re-fetch it, or "
                                 f"pass verify=False to read it anyway)")
    arrays = {}
    for key, path in paths.items():
        array = read_idx(path)
        kind = key.split("_")[1]
        if kind == "images" and (array.ndim != 3 or array.dtype != np.uint8):
            raise ValueError(f"{path}: images must be uint8 of shape (n, rows, cols) (magic number 00000803), "
                             f"got {array.dtype} of shape {array.shape}")
        if kind == "labels" and (array.ndim != 1 or array.dtype != np.uint8):
            raise ValueError(f"{path}: labels must be uint8 of shape (n,) (magic number 00000801), "
                             f"got {array.dtype} of shape {array.shape}")
        arrays[key] = array
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise ValueError(f"training images are {arrays['train_images'].shape[1:]} pixels but test images are "
                         f"{arrays['test_images'].shape[1:]}: expected the same (rows, cols) in both sets")
    result = []
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if len(images) != len(labels):
            raise ValueError(f"{paths[part + '_images'].name} has {len(images)} images but "
                             f"{paths[part + '_labels'].name} has {len(labels)} labels: expected one label per image")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{paths[part + '_labels'].name}: labels must be digits 0 … 9, found {int(labels.max())}")
        X = images.astype(dtype) / np.asarray(255, dtype=dtype)
        result.append((X.reshape(len(X), -1) if flatten else X, labels.astype(np.int64)))
    return tuple(result)


# --- a small text for character-level language models (lesson 13) ---------------------------------------------

SHAKESPEARE_FILE = "shakespeare.txt"


def shakespeare() -> str:
    """A small public-domain text for character-level language models: 99,843 characters of Shakespeare.

    The opening of *Coriolanus*, as the tiny-shakespeare file of Karpathy's char-rnn has it, cut at
    the end of a speech; ASCII only, 61 distinct characters, lines ending in ``"\\n"``. The file ships
    with the package (``nnlab/data/shakespeare.txt``; source and licence in ``assets/README.md``), so
    this works offline and on Colab. Returns the whole text as one ``str``.
    """
    from importlib.resources import files

    return files(__package__).joinpath("data", SHAKESPEARE_FILE).read_text(encoding="ascii")


def char_ids(text: str, vocabulary: str | None = None) -> tuple[np.ndarray, str]:
    """Encode ``text`` as one integer id per character, for a character-level model.

    ``vocabulary`` lists the characters that get the ids 0, 1, 2 … in its order (a ``str`` with no
    character twice); by default it is the sorted distinct characters of ``text``. Returns
    ``(ids, vocabulary)``: ``ids`` of shape ``(len(text),)``, int64, with ``vocabulary[ids[i]] ==
    text[i]``; decode with ``"".join(vocabulary[i] for i in ids)``. Raises ``ValueError`` when
    ``text`` is not a ``str``, when ``vocabulary`` repeats a character, or when ``text`` holds a
    character that ``vocabulary`` lacks (the message names it).
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if vocabulary is None:
        vocabulary = "".join(sorted(set(text)))
    elif not isinstance(vocabulary, str) or len(set(vocabulary)) != len(vocabulary):
        raise ValueError(f"vocabulary must be a str with every character once, got {vocabulary!r:.80}")
    lookup = {char: i for i, char in enumerate(vocabulary)}
    missing = sorted(set(text) - set(lookup))
    if missing:
        raise ValueError(f"text has {len(missing)} character(s) that the vocabulary lacks, e.g. {missing[:5]!r}")
    return np.fromiter((lookup[char] for char in text), dtype=np.int64, count=len(text)), vocabulary
