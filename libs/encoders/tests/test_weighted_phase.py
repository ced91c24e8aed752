"""WeightedPhaseEncoder: binary digits, reconstruction to 2^-K, state, errors."""

from __future__ import annotations

import pytest
import torch

from jelly.core import StepModeError
from jelly.encoders import WeightedPhaseEncoder


def decode(spikes: torch.Tensor) -> torch.Tensor:
    """sum_i s_i 2^-(i+1) over the first dimension, in float64."""
    K = spikes.shape[0]
    weights = torch.tensor([2.0 ** -(i + 1) for i in range(K)], dtype=torch.float64)
    return (spikes.double() * weights.view(K, *([1] * (spikes.dim() - 1)))).sum(0)


def test_examples_from_the_paper():
    x = torch.tensor([[192 / 256, 1 / 256, 128 / 256, 255 / 256]])
    spikes = WeightedPhaseEncoder(8).encode(x)
    bits = spikes[:, 0].T.int().tolist()
    assert bits == [
        [1, 1, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 1],
        [1, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 1],
    ]


@pytest.mark.parametrize("K", [1, 3, 6])
def test_every_representable_value_gives_its_binary_digits(K):
    k = torch.arange(2**K)
    x = (k.double() / 2**K).view(1, -1)
    spikes = WeightedPhaseEncoder(K).encode(x)
    for j in range(2**K):
        expected = [int(c) for c in format(j, f"0{K}b")]
        assert spikes[:, 0, j].int().tolist() == expected
    assert torch.equal(decode(spikes), x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("K", [1, 4, 8, 16, 30])
def test_decoding_reconstructs_to_2_pow_minus_K(K, dtype):
    x = (torch.rand(64, 5, dtype=torch.float64) * (1 - 2.0**-K)).to(dtype)
    x = torch.where(x.double() > 1 - 2.0**-K, torch.zeros_like(x), x)  # float32 may round up to 1
    spikes = WeightedPhaseEncoder(K).encode(x)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    error = x.double() - decode(spikes)
    assert torch.all(error >= 0)
    assert torch.all(error < 2.0**-K)


def test_upper_bound_is_all_ones():
    K = 5
    spikes = WeightedPhaseEncoder(K).encode(torch.tensor([[1 - 2.0**-K]]))
    assert torch.all(spikes == 1)


def test_single_step_loop_equals_multi_step_and_reset():
    K = 6
    x = torch.rand(3, 4) * (1 - 2.0**-K)
    enc = WeightedPhaseEncoder(K)
    loop = torch.stack([enc(x) for _ in range(K)])
    assert enc.t == 0  # wrapped after one period
    multi = WeightedPhaseEncoder(K, step_mode="m")(x.expand(K, *x.shape))
    assert torch.equal(loop, multi)
    enc.reset()
    y = torch.rand(3, 4) * 0.5
    assert torch.equal(torch.stack([enc(y) for _ in range(K)]), WeightedPhaseEncoder(K).encode(y))


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_shape_dtype_device_preserved(dtype, device):
    x = (torch.rand(2, 3, 4, device=device) * 0.9).to(dtype)
    enc = WeightedPhaseEncoder(4)
    out = enc(x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert enc.spike.shape == (4, *x.shape)


def test_K_is_T_and_repr():
    enc = WeightedPhaseEncoder(8)
    assert enc.K == enc.T == 8
    assert enc.max_input == 1 - 2**-8
    assert "K=8" in repr(enc)


def test_errors():
    with pytest.raises(ValueError, match=r"\[0, 1 - 2\^-4\] = \[0, 0.9375\], got 1 value"):
        WeightedPhaseEncoder(4)(torch.tensor([[0.95]]))
    with pytest.raises(ValueError, match=r"\[0, 1 - 2\^-4\].*min -0.1"):
        WeightedPhaseEncoder(4)(torch.tensor([[-0.1, 0.2]]))
    # 1 - 2^-30 rounds to 1 in float32: the range check must still refuse 1.0.
    with pytest.raises(ValueError, match="outside"):
        WeightedPhaseEncoder(30)(torch.tensor([[1.0]]))
    with pytest.raises(ValueError, match="WeightedPhaseEncoder: K must be an integer >= 1, got 0"):
        WeightedPhaseEncoder(0)
    with pytest.raises(TypeError, match="K must be an integer, got float"):
        WeightedPhaseEncoder(8.0)
    with pytest.raises(TypeError, match="floating-point.*torch.int32"):
        WeightedPhaseEncoder(4)(torch.zeros(2, 2, dtype=torch.int32))
    with pytest.raises(StepModeError):
        WeightedPhaseEncoder(4)(torch.tensor(0.5))
    with pytest.raises(ValueError, match="frames .* differ"):
        WeightedPhaseEncoder(4, step_mode="m")(torch.rand(4, 2) * 0.5)
