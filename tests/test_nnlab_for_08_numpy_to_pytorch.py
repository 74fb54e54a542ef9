"""Units of the nnlab helpers added for lesson 08 (numpy to PyTorch): digits, the MNIST reader,
the image grid, the training loop ``nnlab.train``, and the checks that name a slip or the first step where two
trajectories part (``check.close_or_slip``, ``check.trajectory``)."""

import gzip
import struct
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from nnlab import check, datasets, plots, train


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- digits ---------------------------------------------------------------------------------------------------

def test_digits_is_scaled_split_stratified_and_deterministic():
    (X_train, y_train), (X_test, y_test) = datasets.digits()
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))
    everything = np.concatenate([y_train, y_test])
    for label in range(10):  # every class keeps its share (within one image) in the test set
        assert abs(np.sum(y_test == label) - 0.25 * np.sum(everything == label)) <= 0.5
    again = datasets.digits()
    assert np.array_equal(again[0][0], X_train) and np.array_equal(again[1][1], y_test)
    other = datasets.digits(seed=1)
    assert not np.array_equal(other[1][1], y_test)
    assert not np.array_equal(y_train[:10], np.sort(y_train[:10])), "classes should be shuffled together"


def test_digits_options_and_the_images_match_scikit_learn():
    from sklearn.datasets import load_digits

    (X_train, y_train), (X_test, _) = datasets.digits(flatten=False, dtype=np.float32, test_size=0.5, seed=3)
    assert X_train.shape[1:] == (8, 8) and X_train.dtype == np.float32
    assert len(X_train) + len(X_test) == 1797 and abs(len(X_test) - 898) <= 5
    bunch = load_digits()
    first = X_train[0] * 16  # find it among the originals: it must be one of them, with its label
    matches = np.flatnonzero(np.all(np.isclose(bunch.images, first, atol=1e-4), axis=(1, 2)))
    assert len(matches) >= 1 and y_train[0] in bunch.target[matches]


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, "0.2"])
def test_digits_refuses_a_bad_test_size(bad):
    with pytest.raises(ValueError, match="test_size must be a fraction"):
        datasets.digits(test_size=bad)


# --- IDX files and MNIST ----------------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file's content: magic number 0 0 type ndim, the sizes, then the data big-endian."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, n_train=12, n_test=5, side=28, zipped=True, seed=0):
    """Tiny stand-ins for the four MNIST files, under their canonical names."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, size=(n_train, side, side), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, size=(n_test, side, side), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        content = idx_bytes(array)
        if zipped:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (folder / name).write_bytes(content)
    return arrays


@pytest.mark.parametrize("zipped", [True, False])
def test_mnist_reads_idx_files_gzipped_or_not(tmp_path, zipped):
    arrays = write_mnist(tmp_path / "m", zipped=zipped)
    (X_train, y_train), (X_test, y_test) = datasets.mnist(tmp_path / "m", verify=False)
    assert X_train.shape == (12, 28, 28) and X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert np.allclose(X_train * 255, arrays["train-images-idx3-ubyte"], atol=1e-3)
    assert np.array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])
    (flat, _), _ = datasets.mnist(tmp_path / "m", verify=False, flatten=True, dtype=np.float64)
    assert flat.shape == (12, 784) and flat.dtype == np.float64 and 0 <= flat.min() <= flat.max() <= 1


def test_mnist_checks_the_sha256_of_files_with_canonical_names(tmp_path, monkeypatch):
    write_mnist(tmp_path, zipped=False)
    with pytest.raises(ValueError, match="SHA-256 is .* expected 65a50cbb|SHA-256 is .* expected ba891046"
                                         "|SHA-256 is .* expected 0fa7898d|SHA-256 is .* expected ff7bcfd4"):
        datasets.mnist(tmp_path)
    import hashlib  # with the table pointing at these files' digests, verification passes

    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    monkeypatch.setattr(datasets, "MNIST_SHA256", digests)
    (X_train, _), _ = datasets.mnist(tmp_path)
    assert X_train.shape == (12, 28, 28)


def test_mnist_sha256_table_has_the_published_digests():
    assert len(datasets.MNIST_SHA256) == 8 and all(len(v) == 64 for v in datasets.MNIST_SHA256.values())
    assert datasets.MNIST_SHA256["train-images-idx3-ubyte.gz"].startswith("440fcabf73cc546f")
    assert datasets.MNIST_SHA256["t10k-labels-idx1-ubyte"].startswith("ff7bcfd416de3373")


def test_mnist_names_every_missing_file_and_where_to_put_it(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as error:
        datasets.mnist(tmp_path, verify=False)
    message = str(error.value)
    assert str(tmp_path / "t10k-labels-idx1-ubyte.gz") in message
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in message
    assert "train-labels" not in message and "never downloads" in message and "NNLAB_DATA" in message


def test_mnist_folder_argument_then_environment_then_home(tmp_path, monkeypatch):
    monkeypatch.delenv("NNLAB_DATA", raising=False)
    assert datasets.mnist_folder() == datasets.mnist_folder(None)
    assert str(datasets.mnist_folder()).endswith(".cache/nnlab/mnist")
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    assert datasets.mnist_folder() == tmp_path / "mnist"
    assert datasets.mnist_folder(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    write_mnist(tmp_path / "mnist", n_train=3, n_test=2)
    (X_train, _), (X_test, _) = datasets.mnist(verify=False)  # found through NNLAB_DATA
    assert len(X_train) == 3 and len(X_test) == 2


def test_mnist_refuses_bad_files(tmp_path):
    write_mnist(tmp_path, zipped=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(4, dtype=np.uint8)))  # 4 labels, 5 images
    with pytest.raises(ValueError, match="has 5 images but t10k-labels-idx1-ubyte has 4 labels"):
        datasets.mnist(tmp_path, verify=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros((5, 2), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"labels must be uint8 of shape \(n,\)"):
        datasets.mnist(tmp_path, verify=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(5, 12, dtype=np.uint8)))
    with pytest.raises(ValueError, match="labels must be digits 0 … 9, found 12"):
        datasets.mnist(tmp_path, verify=False)
    write_mnist(tmp_path, zipped=False, side=14)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((12, 28, 28), dtype=np.uint8)))
    with pytest.raises(ValueError, match="same \\(rows, cols\\)"):
        datasets.mnist(tmp_path, verify=False)


def test_read_idx_checks_magic_number_and_size(tmp_path):
    values = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    (tmp_path / "ok.idx").write_bytes(idx_bytes(values, 0x0C))
    got = datasets.read_idx(tmp_path / "ok.idx")
    assert got.dtype == np.int32 and np.array_equal(got, values) and got.dtype.byteorder in "=<|"
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX file .*magic number 01020801"):
        datasets.read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(idx_bytes(np.zeros((4, 4), dtype=np.uint8))[:-3])
    with pytest.raises(ValueError, match=r"shape \(4, 4\) .* truncated"):
        datasets.read_idx(tmp_path / "short.idx")
    (tmp_path / "empty.idx").write_bytes(b"")
    with pytest.raises(ValueError, match="magic number missing"):
        datasets.read_idx(tmp_path / "empty.idx")


# --- image grid ---------------------------------------------------------------------------------------------------

def test_image_grid_tiles_every_image_with_its_caption(tmp_path):
    images = np.random.default_rng(0).uniform(size=(13, 64))
    ax = plots.image_grid(images, [f"{i}→{i + 1}" for i in range(13)], ncols=5, title="digits",
                          label_colors=["red"] * 13)
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (3 * (8 + 1 + 3) + 1, 5 * (8 + 1) + 1)  # 3 rows with caption room, 5 columns
    assert [t.get_text() for t in ax.texts] == [f"{i}→{i + 1}" for i in range(13)]
    assert ax.texts[0].get_color() == "red" and ax.get_title() == "digits"
    tile = np.asarray(mosaic[4:12, 1:9])  # the first image, scaled to [0, 1] on its own
    first = images[0].reshape(8, 8)
    assert np.allclose(tile, (first - first.min()) / np.ptp(first))
    assert np.ma.is_masked(mosaic[12:16, :]) or np.isnan(np.asarray(mosaic[12:16, :], dtype=float)).all()
    ax.figure.savefig(tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 1000


def test_image_grid_takes_3d_images_and_rectangles_and_constant_images():
    ax = plots.image_grid(np.zeros((3, 4, 6)))
    assert ax.images[0].get_array().shape == (4 + 2, 3 * 7 + 1) and not ax.texts
    ax = plots.image_grid(np.ones((2, 12)), image_shape=(3, 4), ncols=1)
    assert ax.images[0].get_array().shape == (2 * 4 + 1, 4 + 2)


@pytest.mark.parametrize("images, kwargs, message", [
    (np.zeros((2, 10)), {}, r"not square: pass image_shape=\(h, w\) with h \* w = 10"),
    (np.zeros((2, 12)), {"image_shape": (5, 5)}, "expected h \\* w = 12"),
    (np.zeros(5), {}, r"shape \(n, h, w\) or \(n, h \* w\)"),
    (np.zeros((0, 4, 4)), {}, "n >= 1"),
    (np.zeros((3, 4, 4)), {"labels": [1, 2]}, r"labels must have one entry per image, shape \(3,\)"),
    (np.zeros((3, 4, 4)), {"ncols": 0}, "ncols must be >= 1"),
])
def test_image_grid_refuses_bad_shapes(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.image_grid(images, **kwargs)


# --- nnlab.train ------------------------------------------------------------------------------------------------

def blobs3(n=150, seed=0):
    """Three well-separated Gaussian clouds in 2-D: a tiny problem any classifier learns."""
    X, y = datasets.blobs(n, centers=((-2, 0), (2, 0), (0, 3)), spread=0.4, seed=seed)
    return X.astype(np.float32), y


class DeviceSpy(torch.nn.Module):
    """A linear classifier that records the device and grad mode of every batch it sees."""

    def __init__(self, d=2, k=3):
        super().__init__()
        self.linear = torch.nn.Linear(d, k)
        self.devices, self.grad_modes, self.batch_sizes, self.modes = set(), set(), [], set()

    def forward(self, x):
        self.devices.add(x.device.type)
        self.grad_modes.add(torch.is_grad_enabled())
        self.batch_sizes.append(len(x))
        self.modes.add(self.training)
        assert x.device == self.linear.weight.device, "the batch is not on the model's device"
        return self.linear(x)


def test_fit_learns_a_tiny_problem_with_one_history_entry_per_epoch():
    torch.manual_seed(0)
    X, y = blobs3()
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    history = train.fit(model, (X, y), torch.nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.2),
                        epochs=7, valid=(X[:30], y[:30]), batch_size=16, progress=False)
    assert set(history) == {"loss", "accuracy", "valid_loss", "valid_accuracy"}
    assert all(len(values) == 7 for values in history.values())
    assert history["loss"][-1] < history["loss"][0] and history["accuracy"][-1] > 0.95
    with torch.no_grad():
        manual = float((model(torch.as_tensor(X[:30])).argmax(1).numpy() == y[:30]).mean())
    assert history["valid_accuracy"][-1] == pytest.approx(manual)
    mean_loss = train.evaluate(model, (X[:30], y[:30]), torch.nn.CrossEntropyLoss(), batch_size=7)
    with torch.no_grad():
        direct = float(torch.nn.functional.cross_entropy(model(torch.as_tensor(X[:30])), torch.as_tensor(y[:30])))
    assert mean_loss == pytest.approx(direct, rel=1e-5) and history["valid_loss"][-1] == pytest.approx(direct, rel=1e-5)


def test_fit_moves_every_batch_to_the_models_device_and_restores_its_mode():
    X, y = blobs3(40)
    spy = DeviceSpy().eval()
    history = train.fit(spy, (torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y)), torch.nn.CrossEntropyLoss(),
                        torch.optim.SGD(spy.parameters(), lr=0.1), epochs=2, batch_size=15, valid=(X, y),
                        progress=False)
    assert spy.devices == {"cpu"} and spy.modes == {True, False} and not spy.training  # eval before, eval after
    assert spy.batch_sizes[:3] == [15, 15, 10] and len(history["loss"]) == 2
    assert spy.grad_modes == {True, False}  # gradients while training, none while validating


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_and_evaluate_on_the_gpu_with_data_on_the_cpu():
    X, y = blobs3(40)
    spy = DeviceSpy().cuda()
    train.fit(spy, (X, y), torch.nn.CrossEntropyLoss(), torch.optim.SGD(spy.parameters(), lr=0.1), epochs=1,
              progress=False)
    train.evaluate(spy, (X, y), torch.nn.CrossEntropyLoss())
    assert spy.devices == {"cuda"}
    cpu_model = DeviceSpy()
    train.fit(cpu_model, (X, y), torch.nn.CrossEntropyLoss(), torch.optim.SGD(cpu_model.parameters(), lr=0.1),
              epochs=1, device="cuda", progress=False)
    assert cpu_model.linear.weight.device.type == "cuda"


def test_fit_accepts_a_dataloader_is_reproducible_and_shows_a_progress_bar(capsys):
    X, y = blobs3(60)

    def run():
        torch.manual_seed(1)
        model = torch.nn.Linear(2, 3)
        history = train.fit(model, train.batches(X, y, batch_size=8, shuffle=True, seed=5),
                            torch.nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=3)
        return model, history

    (first, h1), (second, h2) = run(), run()
    assert h1 == h2 and torch.equal(first.weight, second.weight)
    assert "epochs" in capsys.readouterr().err  # tqdm writes its bar to stderr


def test_batches_cover_every_sample_once_per_pass_in_a_new_reproducible_order():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    stream = train.batches(X, y, batch_size=4, shuffle=True, seed=3)
    assert len(stream) == 3
    first, second = [list(yb.numpy()) for _, yb in stream], [list(yb.numpy()) for _, yb in stream]
    assert [len(b) for b in first] == [4, 4, 2] and sorted(sum(first, [])) == list(range(10))
    assert first != second and sorted(sum(second, [])) == list(range(10))
    again = train.batches(X, y, batch_size=4, shuffle=True, seed=3)
    assert [list(yb.numpy()) for _, yb in again] == first
    xb, yb = next(iter(train.batches(X, y, batch_size=4)))
    assert xb.dtype == torch.float32 and yb.dtype == torch.int64 and torch.equal(yb, torch.arange(4))
    assert torch.equal(xb[:, 0], 2 * yb.float())  # the rows stay paired with their labels


def test_fit_accepts_a_torch_dataloader():
    X, y = blobs3(30)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y)), batch_size=7)
    model = torch.nn.Linear(2, 3)
    history = train.fit(model, data, torch.nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), 2,
                        valid=data, progress=False)
    assert len(history["loss"]) == 2 and len(history["valid_accuracy"]) == 2


def test_fit_without_class_labels_has_no_accuracy_and_stops_on_nan():
    X = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    target = X @ np.array([[1.0], [2.0], [-1.0]], dtype=np.float32)
    model = torch.nn.Linear(3, 1)
    history = train.fit(model, (X, target), torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.05),
                        epochs=4, progress=False)
    assert set(history) == {"loss"} and len(history["loss"]) == 4
    exploding = train.fit(model, (X * 1e20, target), torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=1e3),
                          epochs=10, progress=False)
    assert len(exploding["loss"]) < 10 and not np.isfinite(exploding["loss"][-1])
    assert train.fit(model, (X, target), torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                     epochs=0, progress=False) == {"loss": []}


@pytest.mark.parametrize("call, message", [
    (lambda m, o: train.fit(m, (np.zeros((3, 2)), np.zeros(4)), torch.nn.MSELoss(), o, 1), "same n"),
    (lambda m, o: train.fit(m, (np.zeros((3, 2)),), torch.nn.MSELoss(), o, 1), "pair"),
    (lambda m, o: train.fit(m, (np.zeros((3, 2)), np.zeros(3)), torch.nn.MSELoss(), o, -1), "epochs"),
    (lambda m, o: train.fit(m, (np.zeros((3, 2)), np.zeros(3)), torch.nn.MSELoss(), o, 1, batch_size=0), "batch_size"),
    (lambda m, o: train.evaluate(m, 42, torch.nn.MSELoss()), "DataLoader or a pair"),
])
def test_fit_and_evaluate_refuse_bad_input(call, message):
    model = torch.nn.Linear(2, 1)
    with pytest.raises(ValueError, match=message):
        call(model, torch.optim.SGD(model.parameters(), lr=0.1))


def test_evaluate_restores_train_mode_and_uses_no_gradients():
    X, y = blobs3(20)
    spy = DeviceSpy().train()
    train.evaluate(spy, (X, y), torch.nn.CrossEntropyLoss(), batch_size=6)
    assert spy.training and spy.modes == {False} and spy.grad_modes == {False} and spy.batch_sizes == [6, 6, 6, 2]
    assert train.model_device(spy) == torch.device("cpu")


def test_import_nnlab_still_leaves_torch_out():
    code = "import sys, nnlab; nnlab.datasets; nnlab.check; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- check.close_or_slip and check.trajectory ----------------------------------------------------------------------

def failure(function, *args, **kwargs) -> str:
    with pytest.raises(check.CheckFailure) as info:
        function(*args, **kwargs)
    return str(info.value)


MEAN_SLIP = "exactly 1/N of the expected: you averaged where the sum is asked"


def test_close_or_slip_passes_a_right_answer_and_names_the_slip_it_matches():
    expected = np.array([2.0, 4.0])
    check.close_or_slip("db", [2.0, 4.0 + 1e-12], expected, {MEAN_SLIP: expected / 2})
    text = failure(check.close_or_slip, "db", [1.0, 2.0], expected, {"transposed": [[2.0], [4.0]], MEAN_SLIP: expected / 2},
                   hint="sum over the rows")
    assert text.startswith(f"db: {MEAN_SLIP}\n")
    assert "worst at index (1,): expected 4.0, got 2.0" in text and text.endswith("hint: sum over the rows")


def test_close_or_slip_falls_back_to_close_when_no_slip_matches_or_a_slip_equals_the_answer():
    expected = np.array([1.0, 2.0])
    text = failure(check.close_or_slip, "f", [5.0, 5.0], expected, {MEAN_SLIP: expected / 2})
    assert text.startswith("f: values are not right")
    # a slip that gives the right value here (N = 1) must not be blamed for another mistake
    text = failure(check.close_or_slip, "f", [9.0, 9.0], expected, {MEAN_SLIP: expected, "nine": [9.0, 9.0]})
    assert text.startswith("f: nine")
    text = failure(check.close_or_slip, "f", [1.0, 2.0], [3.0, 4.0], {"same as the answer": [3.0, 4.0]})
    assert text.startswith("f: values are not right")


def test_close_or_slip_skips_slips_it_cannot_compare_and_reports_non_numbers_as_close_does():
    text = failure(check.close_or_slip, "f", [1.0, 2.0], [3.0, 4.0], {"a string": "abc", "a shape": np.zeros(3),
                                                                        "a scalar nan": np.nan})
    assert text.startswith("f: values are not right")
    assert failure(check.close_or_slip, "f", None, [1.0], {"x": [1.0]}).startswith("f: got None")
    assert "expected numbers" in failure(check.close_or_slip, "f", "text", [1.0], {"x": [1.0]})


def test_trajectory_accepts_equal_sequences_within_tolerance_numbers_or_arrays():
    check.trajectory("losses", [1.0, 2.0, 3.0 + 1e-12], np.array([1.0, 2.0, 3.0]))
    check.trajectory("weights", [np.ones(2), np.zeros(2)], [np.ones(2), np.zeros(2)], step="epoch")
    check.trajectory("nan", [np.nan], [np.nan])
    check.trajectory("empty", [], [])


def test_trajectory_names_the_first_step_where_the_sequences_part():
    text = failure(check.trajectory, "losses", [1.0, 2.0, 3.5, 9.0], [1.0, 2.0, 3.0, 4.0], step="update",
                   hint="look at the update rule")
    assert text.startswith("losses: the trajectories part at update 3 of 4")
    assert "the first 2 updates agree; at update 3:" in text and "expected: 3.0" in text and "got:      3.5" in text
    assert text.endswith("hint: look at the update rule")
    text = failure(check.trajectory, "w", [np.zeros(2), np.ones(2)], [np.ones(2), np.ones(2)])
    assert "already at the first step" in text and "part at step 1 of 2" in text
    assert "the first update agrees; at update 2:" in failure(check.trajectory, "l", [1.0, 5.0], [1.0, 2.0], step="update")
    assert "part at step 2" in failure(check.trajectory, "w", [np.ones(2), np.ones(3)], [np.ones(2), np.ones(2)])


def test_trajectory_reports_a_length_mismatch_after_the_common_steps_agree_and_bad_input():
    text = failure(check.trajectory, "losses", [1.0, 2.0], [1.0, 2.0, 3.0], step="batch")
    assert text.startswith("losses: expected 3 batches, got 2") and "the 2 batches in common agree" in text
    assert failure(check.trajectory, "losses", None, [1.0]).startswith("losses: got None")
    assert "could not read" in failure(check.trajectory, "losses", [object()], [1.0])
