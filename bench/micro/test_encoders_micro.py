"""Micro-benchmarks of encoders, with checks of the spike trains."""

from __future__ import annotations

import pytest
import torch

encoders = pytest.importorskip("jelly.encoders")


def test_poisson_encode(benchmark):
    encoder = encoders.PoissonEncoder()
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 28, 28, generator=generator)
    spikes = benchmark(encoder.encode, x, 32, generator=torch.Generator().manual_seed(1))
    assert spikes.shape == (32, *x.shape)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    # the firing rate estimates x: 32 Bernoulli draws per value, 50,176 values
    assert abs(spikes.mean().item() - x.mean().item()) < 0.01


def test_latency_encode(benchmark):
    encoder = encoders.LatencyEncoder(16)
    x = torch.rand(64, 784, generator=torch.Generator().manual_seed(0))
    spikes = benchmark(encoder.encode, x)
    assert spikes.shape == (16, 64, 784)
    assert torch.equal(spikes.sum(0), torch.ones(64, 784)), "one spike per value and period"
