"""GaussianTuningCurveEncoder: receptive fields and spike times against the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jelly.core import StateShapeError
from jelly.encoders import GaussianTuningCurveEncoder


def expected_times(x: np.ndarray, x_min, x_max, m: int, T: int, beta: float = 1.5) -> np.ndarray:
    """Bohte et al. (2002) with neurons i = 1..m, written out element by element."""
    out = np.empty((*x.shape, m), dtype=np.int64)
    lows = np.broadcast_to(np.asarray(x_min, dtype=np.float64), x.shape[1:])
    highs = np.broadcast_to(np.asarray(x_max, dtype=np.float64), x.shape[1:])
    for idx in np.ndindex(*x.shape):
        lo, hi = lows[idx[1:]], highs[idx[1:]]
        width = (hi - lo) / (m - 2)
        for i in range(1, m + 1):
            mu = lo + (2 * i - 3) / 2 * width
            sigma = width / beta
            response = math.exp(-((float(x[idx]) - mu) ** 2) / (2 * sigma**2))
            out[(*idx, i - 1)] = round((T - 1) * (1 - response))
    return out


def first_spike_times(spikes: torch.Tensor) -> np.ndarray:
    """Spike step of each neuron, T-1 where it stays silent."""
    T = spikes.shape[0]
    fired = spikes.sum(0) > 0
    return torch.where(fired, spikes.argmax(0), torch.full_like(fired, T - 1, dtype=torch.long)).numpy()


@pytest.mark.parametrize(("m", "T", "beta"), [(3, 2, 1.5), (6, 10, 1.5), (10, 20, 1.0)])
def test_spike_times_match_the_formula(m, T, beta):
    x = torch.rand(5, 4, dtype=torch.float64)
    enc = GaussianTuningCurveEncoder(0.0, 1.0, m, T, beta=beta)
    spikes = enc.encode(x)
    assert spikes.shape == (T, 5, 4, m)
    assert torch.all(spikes.sum(0) <= 1)  # at most one spike per neuron and period
    assert torch.all(spikes[-1] == 0)  # the last step is "too late": silent
    np.testing.assert_array_equal(first_spike_times(spikes), expected_times(x.numpy(), 0.0, 1.0, m, T, beta))
    np.testing.assert_array_equal(enc.spike_time(x).numpy(), expected_times(x.numpy(), 0.0, 1.0, m, T, beta))


def test_centres_follow_the_paper():
    enc = GaussianTuningCurveEncoder(-1.0, 3.0, 6, 10)
    width = 4.0 / 4
    expected = [-1.0 + (2 * i - 3) / 2 * width for i in range(1, 7)]
    assert enc.centers().tolist() == pytest.approx(expected)
    assert expected[0] == -1.5 and expected[-1] == 3.5  # symmetric around the range


def test_input_at_a_centre_fires_that_neuron_first():
    enc = GaussianTuningCurveEncoder(0.0, 1.0, 6, 10)
    centres = enc.centers()
    x = centres[1:-1].float().view(1, -1)  # the 4 centres inside [0, 1]
    spikes = enc.encode(x)
    for j in range(4):
        assert spikes[0, 0, j, j + 1] == 1


def test_per_feature_bounds():
    x_min = torch.tensor([0.0, -10.0])
    x_max = torch.tensor([1.0, 10.0])
    x = torch.stack([torch.rand(8), torch.rand(8) * 20 - 10], dim=1).double()
    spikes = GaussianTuningCurveEncoder(x_min, x_max, 5, 12).encode(x)
    np.testing.assert_array_equal(
        first_spike_times(spikes), expected_times(x.numpy(), x_min.numpy(), x_max.numpy(), 5, 12)
    )


def test_single_step_loop_equals_multi_step_and_reset():
    T = 8
    x = torch.rand(3, 2)
    enc = GaussianTuningCurveEncoder(0.0, 1.0, 4, T)
    loop = torch.stack([enc(x) for _ in range(T)])
    multi = GaussianTuningCurveEncoder(0.0, 1.0, 4, T, step_mode="m")(x.expand(T, *x.shape))
    assert torch.equal(loop, multi)
    with pytest.raises(StateShapeError):
        enc(torch.rand(4, 2))
    enc.reset()
    assert enc(torch.rand(4, 2)).shape == (4, 2, 4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_dtype_and_device_preserved(dtype, device):
    x = torch.rand(2, 3, device=device).to(dtype)
    enc = GaussianTuningCurveEncoder(0.0, 1.0, 5, 6).to(device)
    out = enc(x)
    assert out.shape == (2, 3, 5) and out.dtype == dtype and out.device == x.device


def test_errors():
    with pytest.raises(ValueError, match="tuning_curve_num must be an integer >= 3, got 2"):
        GaussianTuningCurveEncoder(0.0, 1.0, 2, 10)
    with pytest.raises(ValueError, match="T must be >= 2"):
        GaussianTuningCurveEncoder(0.0, 1.0, 5, 1)
    with pytest.raises(ValueError, match="T must be an integer >= 1, got 0"):
        GaussianTuningCurveEncoder(0.0, 1.0, 5, 0)
    with pytest.raises(ValueError, match="x_max must be greater than x_min"):
        GaussianTuningCurveEncoder(1.0, 1.0, 5, 10)
    with pytest.raises(ValueError, match="beta must be a positive number"):
        GaussianTuningCurveEncoder(0.0, 1.0, 5, 10, beta=0)
    with pytest.raises(ValueError, match="finite"):
        GaussianTuningCurveEncoder(0.0, float("inf"), 5, 10)
    with pytest.raises(ValueError, match="do not broadcast"):
        GaussianTuningCurveEncoder(torch.zeros(2), torch.ones(3), 5, 10)
    enc = GaussianTuningCurveEncoder(torch.zeros(3), torch.ones(3), 5, 10)
    with pytest.raises(ValueError, match=r"feature shape \(4,\)"):
        enc(torch.rand(2, 4))
    with pytest.raises(ValueError, match=r"feature shape \(\)"):
        enc(torch.rand(2))  # bounds would add a dimension the input does not have
    with pytest.raises(ValueError, match=r"within \[x_min, x_max\], got 1 value"):
        GaussianTuningCurveEncoder(0.0, 1.0, 5, 10)(torch.tensor([[0.5, 1.2]]))
    with pytest.raises(TypeError, match="floating-point"):
        GaussianTuningCurveEncoder(0.0, 1.0, 5, 10)(torch.ones(2, 2, dtype=torch.long))
