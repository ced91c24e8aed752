"""Base classes: subclassing, step modes, the state protocol and the package surface."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import torch
from torch import nn

import jelly.encoders as encoders
from jelly.core import MemoryModule, StepModeError
from jelly.core.functional import reset_net, set_step_mode
from jelly.encoders import (
    LatencyEncoder,
    PoissonEncoder,
    StatefulEncoder,
    StatelessEncoder,
)


class ThresholdPair(StatelessEncoder):
    """Adds a trailing dimension: [x > 0.5, x <= 0.5]."""

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x > 0.5, x <= 0.5], dim=-1).float()


class CountdownEncoder(StatefulEncoder):
    """SpikingJelly-style subclass: assigns self.spike and returns nothing."""

    def single_step_encode(self, x: torch.Tensor) -> None:
        steps = torch.arange(self.T).view(self.T, *([1] * x.dim()))
        self.spike = (steps < x.unsqueeze(0) * self.T).float()


def test_stateless_default_multi_step_folds_time_into_batch():
    x_seq = torch.rand(4, 3, 5)
    enc = ThresholdPair(step_mode="m")
    out = enc(x_seq)
    assert out.shape == (4, 3, 5, 2)
    assert torch.equal(out, ThresholdPair()(x_seq.flatten(0, 1)).unflatten(0, (4, 3)))
    with pytest.raises(StepModeError):
        enc(torch.rand(5))


def test_stateless_base_requires_single_step_forward():
    with pytest.raises(NotImplementedError):
        StatelessEncoder()(torch.rand(2))


def test_stateful_subclass_in_spikingjelly_style():
    enc = CountdownEncoder(4)
    x = torch.tensor([[0.5, 1.0]])
    out = torch.stack([enc(x) for _ in range(4)])
    assert out[:, 0, 0].tolist() == [1, 1, 0, 0]
    assert out[:, 0, 1].tolist() == [1, 1, 1, 1]


def test_stateful_base_requires_single_step_encode():
    with pytest.raises(NotImplementedError):
        StatefulEncoder(3)(torch.rand(2))


def test_stateful_encoders_are_memory_modules_with_spike_and_t():
    enc = LatencyEncoder(3)
    assert isinstance(enc, MemoryModule)
    assert dict(enc.named_memories()) == {"spike": None, "t": 0}


def test_reset_net_and_set_step_mode_reach_encoders():
    net = nn.Sequential(LatencyEncoder(5), nn.Flatten(0, -1), PoissonEncoder())
    x = torch.rand(2, 3)
    net(x)
    assert net[0].t == 1
    reset_net(net)
    assert net[0].t == 0 and net[0].spike is None
    set_step_mode(net, "m")
    assert net[0].step_mode == "m" and net[2].step_mode == "m"


def test_switching_step_mode_mid_period_continues_the_counter():
    T = 5
    x = torch.rand(2, 2)
    train = LatencyEncoder(T).encode(x)
    enc = LatencyEncoder(T)
    enc(x)
    enc(x)
    enc.step_mode = "m"
    assert torch.equal(enc(x.expand(4, *x.shape)), train[[2, 3, 4, 0]])


def test_to_moves_and_casts_the_stored_train():
    enc = LatencyEncoder(4)
    enc(torch.rand(2, 2))
    enc.to(torch.float64)
    assert enc.spike.dtype == torch.float64
    assert enc(None).dtype == torch.float64


def test_detach_and_no_gradient_through_spikes():
    x = torch.rand(2, 3, requires_grad=True)
    enc = LatencyEncoder(3)
    out = enc(x)
    assert not out.requires_grad
    enc.detach()
    assert PoissonEncoder()(x).requires_grad is False


def test_T_accepts_numpy_integers_and_refuses_others():
    assert LatencyEncoder(np.int64(6)).T == 6
    with pytest.raises(TypeError, match="T must be an integer, got str"):
        LatencyEncoder("6")
    with pytest.raises(ValueError, match="T must be an integer >= 1, got -1"):
        LatencyEncoder(-1)


def test_step_mode_is_checked():
    with pytest.raises(ValueError, match="step_mode must be 's'"):
        LatencyEncoder(3, step_mode="multi")
    enc = PoissonEncoder()
    with pytest.raises(ValueError, match="step_mode must be 's'"):
        enc.step_mode = "x"


def test_package_surface():
    assert sorted(encoders.__all__) == sorted(
        [
            "__version__",
            "StatelessEncoder",
            "StatefulEncoder",
            "PoissonEncoder",
            "LatencyEncoder",
            "PeriodicEncoder",
            "WeightedPhaseEncoder",
            "GaussianTuningCurveEncoder",
        ]
    )
    for name in encoders.__all__:
        obj = getattr(encoders, name)
        if isinstance(obj, type):
            assert obj.__doc__, name
    assert encoders.__version__ == "0.1.0"


@pytest.mark.parametrize(
    "module",
    ["base", "poisson", "latency", "periodic", "weighted_phase", "gaussian_tuning"],
)
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"jelly.encoders.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
