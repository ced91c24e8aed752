"""Micro-benchmarks of multi-step neurons (forward+backward), with checks of the results."""

from __future__ import annotations

import pytest
import torch

neurons = pytest.importorskip("jelly.neurons")

MODELS = ("LIFNode", "IFNode", "ParametricLIFNode")
T, N = 16, 4096


def _inputs():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(T, 16, N // 16, generator=generator) * 1.5
    g = torch.rand(T, 16, N // 16, generator=generator) * 2 - 1
    return x, g


def _forward_backward(node, x, g):
    x = x.detach().requires_grad_()
    params = [p for p in node.parameters() if p.requires_grad]
    out = node(x)
    grads = torch.autograd.grad(out, [x, *params], g)
    node.reset()
    return out.detach(), grads


@pytest.mark.parametrize("backend", ["torch", "reference"])
@pytest.mark.parametrize("model", MODELS)
def test_multistep_forward_backward(benchmark, model, backend):
    node = getattr(neurons, model)(step_mode="m", backend=backend)
    x, g = _inputs()
    out, grads = benchmark(_forward_backward, node, x, g)
    assert out.shape == x.shape
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert 0.05 < out.mean().item() < 0.95, "the workload should make some, not all, neurons fire"
    assert all(torch.isfinite(gr).all() for gr in grads)
    if backend != "reference":  # the fast path agrees with the per-step reference
        ref = getattr(neurons, model)(step_mode="m", backend="reference")
        ref_out, ref_grads = _forward_backward(ref, x, g)
        assert torch.equal(out, ref_out)
        torch.testing.assert_close(grads[0], ref_grads[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_multistep_forward_inference(benchmark, model):
    node = getattr(neurons, model)(step_mode="m")
    x, _ = _inputs()

    def forward():
        with torch.no_grad():
            out = node(x)
        node.reset()
        return out

    out = benchmark(forward)
    assert out.shape == x.shape and not out.requires_grad
