"""Micro-benchmarks of surrogate gradients, checked against each surrogate's closed form."""

from __future__ import annotations

import pytest
import torch

surrogates = pytest.importorskip("jelly.surrogates")


@pytest.mark.parametrize("name", ["ATan", "Sigmoid", "PiecewiseQuadratic", "Erf"])
def test_spike_backward(benchmark, name):
    surrogate = getattr(surrogates, name)()
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(256, 1024, generator=generator) * 2 - 1).requires_grad_()
    g = torch.rand(256, 1024, generator=generator)

    def spike_backward():
        spike = surrogate(x)
        return spike, torch.autograd.grad(spike, x, g)[0]

    spike, grad = benchmark(spike_backward)
    assert torch.equal(spike, (x >= 0).to(spike.dtype))
    torch.testing.assert_close(grad, g * surrogate.derivative(x.detach()))
