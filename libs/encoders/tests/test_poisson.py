"""PoissonEncoder: rate statistics, exact endpoints, seeding, step modes, dtypes, errors."""

from __future__ import annotations

import math

import pytest
import torch

from jelly.core import StepModeError
from jelly.encoders import PoissonEncoder


def seeded(seed: int = 0, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def test_mean_rate_matches_probability():
    x = torch.linspace(0.0, 1.0, 101).view(1, 101)
    T = 20_000
    spikes = PoissonEncoder(generator=seeded(1)).encode(x, T)
    assert spikes.shape == (T, 1, 101)
    rate = spikes.mean(0)
    # Binomial standard deviation of the mean is at most 0.5 / sqrt(T) ~ 0.0035; allow 5 sigma.
    sigma = torch.sqrt(x * (1 - x) / T)
    assert torch.all((rate - x).abs() <= 5 * sigma + 1e-12)
    # The pooled z-score over all 99 interior probabilities stays small (no bias).
    z = ((rate - x)[:, 1:-1] / sigma[:, 1:-1]).mean() * math.sqrt(99)
    assert abs(float(z)) < 4


def test_rate_per_element_is_independent_of_other_elements():
    # Half the elements at 0.2 and half at 0.8 in one tensor: each keeps its own rate.
    x = torch.tensor([0.2, 0.8]).repeat(500).view(10, 100)
    spikes = PoissonEncoder(generator=seeded(2)).encode(x, 400)
    rate = spikes.mean(0)
    assert abs(float(rate[x == 0.2].mean()) - 0.2) < 0.005
    assert abs(float(rate[x == 0.8].mean()) - 0.8) < 0.005


def test_zero_and_one_are_exact():
    x = torch.cat([torch.zeros(4, 1000), torch.ones(4, 1000)])
    spikes = PoissonEncoder(generator=seeded(3)).encode(x, 500)
    assert torch.all(spikes[:, :4] == 0)
    assert torch.all(spikes[:, 4:] == 1)


def test_spikes_are_binary():
    x = torch.rand(16, 32)
    spikes = PoissonEncoder()(x)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}


def test_seeded_generator_is_reproducible_and_seed_matters():
    x = torch.rand(8, 64)
    a = PoissonEncoder(generator=seeded(7)).encode(x, 10)
    b = PoissonEncoder(generator=seeded(7)).encode(x, 10)
    c = PoissonEncoder(generator=seeded(8)).encode(x, 10)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_generator_argument_of_encode_overrides_the_encoders():
    x = torch.rand(4, 64)
    enc = PoissonEncoder(generator=seeded(1))
    assert torch.equal(enc.encode(x, 5, generator=seeded(9)), PoissonEncoder().encode(x, 5, seeded(9)))


def test_global_seed_reproducible_without_generator():
    x = torch.rand(8, 64)
    torch.manual_seed(123)
    a = PoissonEncoder()(x)
    torch.manual_seed(123)
    b = PoissonEncoder()(x)
    assert torch.equal(a, b)


def test_single_step_loop_equals_encode_and_multi_step():
    x = torch.rand(3, 5, 7)
    T = 6
    enc_s = PoissonEncoder(generator=seeded(5))
    loop = torch.stack([enc_s(x) for _ in range(T)])
    vectorised = PoissonEncoder(generator=seeded(5)).encode(x, T)
    multi = PoissonEncoder(step_mode="m", generator=seeded(5))(x.unsqueeze(0).expand(T, *x.shape))
    assert torch.equal(loop, vectorised)
    assert torch.equal(loop, multi)


def test_multi_step_uses_each_frames_probability():
    x_seq = torch.stack([torch.zeros(2, 50), torch.ones(2, 50), torch.full((2, 50), 0.5)])
    spikes = PoissonEncoder(step_mode="m", generator=seeded(0))(x_seq)
    assert spikes.shape == x_seq.shape
    assert torch.all(spikes[0] == 0) and torch.all(spikes[1] == 1)
    assert 0 < float(spikes[2].mean()) < 1


def test_consecutive_steps_differ():
    x = torch.full((4, 256), 0.5)
    enc = PoissonEncoder(generator=seeded(0))
    assert not torch.equal(enc(x), enc(x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_shape_dtype_device_preserved(dtype, device):
    x = torch.rand(2, 3, 4, 5, device=device).to(dtype)
    enc = PoissonEncoder(generator=seeded(0, device))
    out = enc(x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    seq = enc.encode(x, 3)
    assert seq.shape == (3, *x.shape) and seq.dtype == dtype and seq.device == x.device


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_input_keeps_accurate_rate(dtype):
    # A half-precision uniform has a coarse grid (2^-11 or 2^-8) that would turn x = 0.001 into a
    # rate of about 0.0015 or 0.004; the uniform is drawn in float32, so the rate follows x.
    x = torch.full((1, 4000), 0.001, dtype=dtype)
    rate = PoissonEncoder(generator=seeded(4)).encode(x, 500).double().mean()
    sigma = (0.001 / 2_000_000) ** 0.5  # ~2.2e-5
    assert abs(float(rate) - float(x[0, 0])) < 6 * sigma


def test_check_input_false_skips_validation():
    x = torch.full((2, 3), 2.0)
    out = PoissonEncoder(check_input=False)(x)
    assert torch.all(out == 1)


def test_out_of_range_raises():
    enc = PoissonEncoder()
    with pytest.raises(ValueError, match=r"\[0, 1\].*2 value\(s\) outside.*min -0.5.*max 1.5"):
        enc(torch.tensor([[-0.5, 0.2, 1.5]]))
    with pytest.raises(ValueError, match="NaN"):
        enc(torch.tensor([[0.2, float("nan")]]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        enc.encode(torch.tensor([[1.01]]), 3)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_non_float_input_raises(dtype):
    with pytest.raises(TypeError, match=rf"floating-point.*{dtype}.*x.float\(\) / 255"):
        PoissonEncoder()(torch.ones(2, 3, dtype=dtype))


def test_wrong_rank_raises():
    with pytest.raises(StepModeError, match=r"\[N, \*\].*single-step.*shape \(\)"):
        PoissonEncoder()(torch.tensor(0.5))
    with pytest.raises(StepModeError, match=r"multi-step.*\[T, N, \*\].*shape \(4,\)"):
        PoissonEncoder(step_mode="m")(torch.rand(4))
    with pytest.raises(StepModeError, match=r"\[N, \*\]"):
        PoissonEncoder().encode(torch.tensor(0.5), 3)


def test_bad_arguments_raise():
    x = torch.rand(2, 3)
    with pytest.raises(ValueError, match="T must be an integer >= 1, got 0"):
        PoissonEncoder().encode(x, 0)
    with pytest.raises(ValueError, match="T must be an integer >= 1, got -3"):
        PoissonEncoder().encode(x, -3)
    with pytest.raises(TypeError, match="T must be an integer, got float"):
        PoissonEncoder().encode(x, 2.5)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        PoissonEncoder(generator=0)
    with pytest.raises(ValueError, match="step_mode"):
        PoissonEncoder(step_mode="x")
    with pytest.raises(TypeError, match="torch.Tensor"):
        PoissonEncoder()([0.1, 0.2])


def test_generator_on_wrong_device_raises():
    meta_gen = torch.Generator(device="cpu")
    x = torch.rand(2, 3, device="meta")
    with pytest.raises(ValueError, match="generator is on device cpu"):
        PoissonEncoder(generator=meta_gen, check_input=False)(x)
