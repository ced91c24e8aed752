"""LatencyEncoder: one spike per element, spike times against the formulas, state, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jelly.core import StateShapeError, StepModeError
from jelly.encoders import LatencyEncoder


def expected_times(x: torch.Tensor, T: int, enc_function: str) -> np.ndarray:
    """Spike times written from the definitions, in numpy float64 (ties rounded to even)."""
    v = x.double().numpy()
    if enc_function == "linear":
        return np.round((T - 1) * (1 - v)).astype(np.int64)
    alpha = math.exp(T - 1) - 1
    return np.round((T - 1) - np.log(alpha * v + 1)).astype(np.int64)


def run_single_steps(enc: LatencyEncoder, x: torch.Tensor, steps: int) -> torch.Tensor:
    return torch.stack([enc(x) for _ in range(steps)])


@pytest.mark.parametrize("enc_function", ["linear", "log"])
@pytest.mark.parametrize("T", [1, 2, 7, 32])
def test_exactly_one_spike_at_the_formula_time(enc_function, T):
    x = torch.rand(16, 3, 5)
    x[0, 0, :2] = torch.tensor([0.0, 1.0])
    spikes = run_single_steps(LatencyEncoder(T, enc_function), x, T)
    assert spikes.shape == (T, *x.shape)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(spikes.sum(0) == 1)
    times = spikes.argmax(0).numpy()
    np.testing.assert_array_equal(times, expected_times(x, T, enc_function))


@pytest.mark.parametrize("enc_function", ["linear", "log"])
def test_endpoints_and_monotonicity(enc_function):
    T = 10
    x = torch.linspace(0, 1, 201).view(1, -1)
    times = LatencyEncoder(T, enc_function).encode(x).argmax(0)[0]
    assert times[0] == T - 1  # x = 0 fires last
    assert times[-1] == 0  # x = 1 fires first
    assert torch.all(times[1:] <= times[:-1])  # larger input, earlier (or same) spike


def test_linear_known_values():
    x = torch.tensor([[1.0, 0.75, 0.5, 0.25, 0.0]])
    times = LatencyEncoder(5).encode(x).argmax(0)
    assert times.tolist() == [[0, 1, 2, 3, 4]]


def test_log_fires_earlier_than_linear_for_mid_inputs():
    x = torch.tensor([[0.1, 0.3, 0.5]])
    lin = LatencyEncoder(20, "linear").encode(x).argmax(0)
    log = LatencyEncoder(20, "log").encode(x).argmax(0)
    assert torch.all(log < lin)


def test_log_with_large_T_does_not_overflow():
    # e^(T-1) overflows float32 for T > 89 and float64 for T > 710.
    T = 1000
    x = torch.tensor([[0.0, 1e-30, 0.001, 0.5, 1.0]])
    spikes = LatencyEncoder(T, "log").encode(x)
    assert torch.all(spikes.sum(0) == 1)
    times = spikes.argmax(0)[0].tolist()
    # Closed form for large T: t_f ~ -ln(x) once alpha * x >> 1.
    assert times == [T - 1, round(-math.log(1e-30)), round(-math.log(0.001)), round(math.log(2)), 0]
    assert math.isinf(LatencyEncoder(T, "log").alpha)
    assert LatencyEncoder(3, "log").alpha == pytest.approx(math.e**2 - 1)


@pytest.mark.parametrize("enc_function", ["linear", "log"])
def test_single_step_loop_equals_multi_step(enc_function):
    T = 6
    x = torch.rand(4, 3)
    loop = run_single_steps(LatencyEncoder(T, enc_function), x, T)
    multi = LatencyEncoder(T, enc_function, step_mode="m")(x.expand(T, *x.shape))
    assert torch.equal(loop, multi)
    assert torch.equal(loop, LatencyEncoder(T, enc_function).encode(x))


def test_counter_wraps_with_period_T_and_reset_restarts():
    T = 4
    x = torch.rand(3, 2)
    enc = LatencyEncoder(T)
    first = run_single_steps(enc, x, 2 * T + 1)
    assert torch.equal(first[:T], first[T : 2 * T])
    assert torch.equal(first[2 * T], first[0])
    assert enc.t == 1
    enc.reset()
    assert enc.spike is None and enc.t == 0
    other = torch.rand(3, 2)
    again = run_single_steps(enc, other, T)
    assert torch.equal(again, enc.encode(other))


def test_multi_step_continues_the_counter_and_wraps():
    T = 5
    x = torch.rand(2, 3)
    train = LatencyEncoder(T).encode(x)
    enc = LatencyEncoder(T, step_mode="m")
    out1 = enc(x.expand(3, *x.shape))
    out2 = enc(x.expand(4, *x.shape))
    assert torch.equal(out1, train[:3])
    assert torch.equal(out2, train[[3, 4, 0, 1]])
    assert enc.t == 2
    assert torch.equal(enc(None), train[[2, 3, 4, 0, 1]])  # None: one full period


def test_later_calls_reuse_the_stored_train_and_accept_none():
    T = 3
    x = torch.rand(2, 2)
    enc = LatencyEncoder(T)
    s0 = enc(x)
    s1 = enc(None)  # values are not read after the first call
    s2 = enc(torch.zeros(2, 2))
    assert torch.equal(torch.stack([s0, s1, s2]), LatencyEncoder(T).encode(x))


def test_encode_does_not_touch_the_state():
    enc = LatencyEncoder(4)
    enc.encode(torch.rand(2, 2))
    assert enc.spike is None and enc.t == 0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_shape_dtype_device_preserved(dtype, device):
    x = torch.rand(2, 1, 4, 4, device=device).to(dtype)
    enc = LatencyEncoder(5).to(device)
    out = enc(x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    multi = LatencyEncoder(5, step_mode="m")(x.expand(5, *x.shape))
    assert multi.shape == (5, *x.shape) and multi.dtype == dtype and multi.device == x.device


def test_half_input_uses_its_own_value_for_the_time():
    x = torch.tensor([[0.3]], dtype=torch.float16)  # stored as 0.2998046875
    times = LatencyEncoder(11).encode(x).argmax(0)
    assert times.item() == round(10 * (1 - float(x.item())))


def test_errors():
    with pytest.raises(ValueError, match=r"enc_function must be one of \('linear', 'log'\), got 'exp'"):
        LatencyEncoder(4, "exp")
    with pytest.raises(ValueError, match="T must be an integer >= 1, got 0"):
        LatencyEncoder(0)
    with pytest.raises(TypeError, match="T must be an integer, got float"):
        LatencyEncoder(4.0)
    with pytest.raises(TypeError, match="T must be an integer, got bool"):
        LatencyEncoder(True)
    with pytest.raises(ValueError, match=r"LatencyEncoder expects input in \[0, 1\], got 1 value"):
        LatencyEncoder(4)(torch.tensor([[0.5, 1.5]]))
    with pytest.raises(ValueError, match="NaN"):
        LatencyEncoder(4)(torch.tensor([[float("nan")]]))
    with pytest.raises(TypeError, match="floating-point.*torch.uint8"):
        LatencyEncoder(4)(torch.full((2, 2), 200, dtype=torch.uint8))
    with pytest.raises(StepModeError, match=r"single-step.*shape \(\)"):
        LatencyEncoder(4)(torch.tensor(0.5))
    with pytest.raises(StepModeError, match=r"multi-step.*shape \(3,\)"):
        LatencyEncoder(4, step_mode="m")(torch.rand(3))
    with pytest.raises(ValueError, match="needs an input on the first call"):
        LatencyEncoder(4)()
    with pytest.raises(ValueError, match="needs an input on the first call"):
        LatencyEncoder(4, step_mode="m")()


def test_non_constant_sequence_raises_in_multi_step():
    with pytest.raises(ValueError, match="frames of its \\[T, N, \\*\\] input differ"):
        LatencyEncoder(4, step_mode="m")(torch.rand(4, 2, 3))


def test_new_shape_without_reset_raises():
    enc = LatencyEncoder(4)
    enc(torch.rand(2, 3))
    with pytest.raises(StateShapeError, match=r"shape \(2, 3\).*\(5, 3\).*reset\(\)"):
        enc(torch.rand(5, 3))
    enc.reset()
    assert enc(torch.rand(5, 3)).shape == (5, 3)
    multi = LatencyEncoder(4, step_mode="m")
    multi(torch.rand(2, 3).expand(4, 2, 3))
    with pytest.raises(StateShapeError):
        multi(torch.rand(1, 3).expand(4, 1, 3))


def test_repr():
    assert "T=4, enc_function='log', step_mode=m" in repr(LatencyEncoder(4, "log", step_mode="m"))
