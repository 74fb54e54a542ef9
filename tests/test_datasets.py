import numpy as np
import pytest
from sklearn.svm import SVC

from nnlab import datasets

TRUTH = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "nand": [1, 1, 1, 0], "nor": [1, 0, 0, 0],
         "xor": [0, 1, 1, 0], "xnor": [1, 0, 0, 1]}


@pytest.mark.parametrize("gate", sorted(TRUTH))
def test_logic_gate_truth_tables_in_deck_order(gate):
    X, y = datasets.logic_gate(gate.upper())
    assert X.shape == (4, 2) and X.dtype == np.float64
    assert np.array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])  # T0..T3 of deck 003
    assert np.array_equal(y, TRUTH[gate])
    _, signed = datasets.logic_gate(gate, signed=True)
    assert np.array_equal(signed, 2 * np.array(TRUTH[gate]) - 1)


def test_logic_gate_tables_are_copies():
    X, _ = datasets.logic_gate("and")
    X[:] = 7
    assert datasets.logic_gate("and")[0].max() == 1


def test_unknown_gate_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown gate 'xand'.*and, or, nand"):
        datasets.logic_gate("xand")


def hard_margin_of(X, y) -> float:
    """The widest margin of a separating line, by an independent solver (a hard-margin SVM)."""
    svm = SVC(kernel="linear", C=1e8).fit(X, y)
    assert svm.score(X, y) == 1.0, "not linearly separable"
    return 1.0 / np.linalg.norm(svm.coef_)


@pytest.mark.parametrize("seed, d, margin", [(0, 2, 0.1), (1, 3, 0.2), (2, 5, 0.05), (3, 1, 0.3)])
def test_linearly_separable_is_separable_with_at_least_the_margin(seed, d, margin):
    X, y = datasets.linearly_separable(120, d, margin=margin, seed=seed)
    assert X.shape == (120, d) and y.shape == (120,)
    assert set(np.unique(y)) == {0, 1}
    assert np.abs(X).max() <= 1
    assert hard_margin_of(X, y) >= margin * (1 - 1e-6)


def test_linearly_separable_is_deterministic_by_seed_and_signed_on_request():
    X1, y1 = datasets.linearly_separable(30, seed=5)
    X2, y2 = datasets.linearly_separable(30, seed=5, signed=True)
    assert np.array_equal(X1, X2) and np.array_equal(2 * y1 - 1, y2)
    assert not np.array_equal(X1, datasets.linearly_separable(30, seed=6)[0])


def test_linearly_separable_has_both_classes_even_for_two_points():
    for seed in range(20):
        _, y = datasets.linearly_separable(2, seed=seed)
        assert sorted(y) == [0, 1]


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n must be a positive integer"),
    ({"d": 0}, "d must be a positive integer"),
    ({"margin": 0.5}, r"margin must be in \[0, 0.5\)"),
])
def test_linearly_separable_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.linearly_separable(**kwargs)


def test_blobs_share_points_evenly_around_their_centres():
    centers = [[-3, 0, 0], [3, 0, 0], [0, 3, 3]]
    X, y = datasets.blobs(90, centers=centers, spread=0.1, seed=0)
    assert X.shape == (90, 3) and np.array_equal(np.bincount(y), [30, 30, 30])
    for label, centre in enumerate(centers):
        assert np.allclose(X[y == label].mean(axis=0), centre, atol=0.1)


def test_blobs_refuse_bad_centres_and_signed_labels_for_three_classes():
    with pytest.raises(ValueError, match=r"shape \(k, d\) with k >= 2"):
        datasets.blobs(centers=[1.0, 2.0])
    with pytest.raises(ValueError, match="exactly 2 centers"):
        datasets.blobs(centers=[[0, 0], [1, 1], [2, 2]], signed=True)


def test_xor_labels_follow_the_nearest_corner_and_no_line_separates_them():
    X, y = datasets.xor(400, noise=0.1, seed=0)
    corners = np.round(np.clip(X, 0, 1))
    assert np.array_equal(y, np.logical_xor(corners[:, 0], corners[:, 1]).astype(int))
    assert SVC(kernel="linear", C=1e4).fit(X, y).score(X, y) < 0.8


def test_digits_reads_scikit_learns_own_numbers_without_importing_it():
    """The bundled file read directly gives exactly load_digits(); nnlab.datasets.digits imports no sklearn."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels, labels = datasets._bundled_digits()
    np.testing.assert_array_equal(pixels, bunch.data)
    np.testing.assert_array_equal(labels, bunch.target)
    (X, y), (X_test, y_test) = datasets.digits()
    assert X.shape == (1347, 64) and X_test.shape == (450, 64) and y.dtype == np.int64
    code = "import sys; from nnlab import datasets; datasets.digits(); print('sklearn' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stdout + done.stderr
