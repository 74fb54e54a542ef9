import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from nnlab import backend


def test_import_nnlab_loads_neither_torch_nor_matplotlib():
    code = ("import sys, nnlab; nnlab.check; nnlab.datasets; nnlab.gradcheck; nnlab.backend; "
            "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_of_the_package_is_an_attribute_error():
    import nnlab

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nnlab.nope


def test_device_defaults_to_cuda_exactly_when_torch_sees_it(monkeypatch):
    monkeypatch.delenv(backend.DEVICE_VARIABLE, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert backend.device().type == expected


def test_device_argument_and_environment_override(monkeypatch):
    monkeypatch.setenv(backend.DEVICE_VARIABLE, "cpu")
    assert backend.device() == torch.device("cpu")
    monkeypatch.setenv(backend.DEVICE_VARIABLE, "nonsense")
    assert backend.device("cpu") == torch.device("cpu")  # the argument wins over the variable
    with pytest.raises(ValueError, match="unknown device 'nonsense'"):
        backend.device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_a_gpu_is_an_error_not_a_silent_cpu(monkeypatch):
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        backend.device("cuda")
    monkeypatch.setenv(backend.DEVICE_VARIABLE, "cuda")
    with pytest.raises(RuntimeError, match="NNLAB_DEVICE=cuda"):
        backend.device()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_device_and_round_trip():
    dev = backend.device("cuda")
    tensor = backend.to_torch(np.arange(6.0).reshape(2, 3), device=dev)
    assert tensor.is_cuda
    assert np.array_equal(backend.to_numpy(tensor), np.arange(6.0).reshape(2, 3))
    assert backend.describe("cuda").startswith("cuda:")


def test_describe_names_the_device_and_torch_version():
    text = backend.describe("cpu")
    assert text.startswith("cpu (") and torch.__version__ in text


def test_set_seed_makes_python_numpy_and_torch_repeatable():
    def draw():
        rng = backend.set_seed(123)
        return random.random(), np.random.rand(), rng.normal(), torch.rand(1).item()

    first, second = draw(), draw()
    assert first == second
    backend.set_seed(124)
    assert torch.rand(1).item() != first[3]


@pytest.mark.parametrize("seed", [-1, 1.5, "7"])
def test_set_seed_refuses_what_is_not_a_seed(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        backend.set_seed(seed)


def test_to_torch_makes_float32_and_keeps_integers():
    floats = backend.to_torch(np.array([1.0, 2.0]))
    ints = backend.to_torch(np.array([1, 2]))
    assert floats.dtype == torch.float32 and ints.dtype == torch.int64
    assert backend.to_torch([1.0], dtype=torch.float64).dtype == torch.float64


def test_to_numpy_detaches_tensors_that_need_grad():
    tensor = torch.ones(3, requires_grad=True) * 2
    assert np.array_equal(backend.to_numpy(tensor), [2.0, 2.0, 2.0])
    assert np.array_equal(backend.to_numpy([1, 2]), [1, 2])
