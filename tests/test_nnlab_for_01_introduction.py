"""nnlab helpers added for lesson 01_introduction: the noisy 1-D regression data."""

import numpy as np
import pytest

from nnlab import datasets


def test_noisy_function_shapes_range_and_default_curve():
    x, y = datasets.noisy_function(50, noise=0.0, low=-1.0, high=2.0, seed=3)
    assert x.shape == (50,) and y.shape == (50,)
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert x.min() >= -1.0 and x.max() <= 2.0
    assert np.allclose(y, np.sin(2 * np.pi * x))  # noise 0: exactly the default curve


def test_noisy_function_is_deterministic_for_a_seed_and_differs_for_another():
    a = datasets.noisy_function(20, seed=1)
    b = datasets.noisy_function(20, seed=1)
    c = datasets.noisy_function(20, seed=2)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_noisy_function_noise_has_the_requested_spread():
    x, y = datasets.noisy_function(20_000, lambda t: 3 * t, noise=0.5, seed=0)
    residual = y - 3 * x
    assert abs(residual.mean()) < 0.02
    assert residual.std() == pytest.approx(0.5, rel=0.03)


def test_noisy_function_refuses_bad_input_with_a_reason():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        datasets.noisy_function(0)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        datasets.noisy_function(5, noise=-1)
    with pytest.raises(ValueError, match="low < high"):
        datasets.noisy_function(5, low=1.0, high=1.0)
    with pytest.raises(ValueError, match=r"f must be a function"):
        datasets.noisy_function(5, f=3.0)
    with pytest.raises(ValueError, match=r"must return shape \(5,\).*got shape \(5, 1\)"):
        datasets.noisy_function(5, f=lambda t: t[:, None])
