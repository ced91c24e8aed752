"""``torch.compile`` of multi-step LIF networks (slow: each compilation takes ~5-15 s here).

Measured (torch 2.13, CPU, a Linear-LIF-Linear-LIF network, T=8): with ``backend='torch'``
Dynamo captures the whole network, the fused ``torch.autograd.Function`` included, as one
graph without graph breaks (``torch._dynamo.explain``: 1 graph, 0 breaks, 14 ops); the
first call compiles for ~5-7 s, a new input shape recompiles once (~8-14 s), later calls
reuse the graph. With ``backend='numba'`` the kernels are opaque to Dynamo, so the numba
entry points are wrapped in ``torch.compiler.disable``: Dynamo breaks the graph at each
neuron call and runs it eagerly (6 graphs, 5 breaks for this network); the results stay
exactly those of eager mode. The tests check equality with eager mode (spikes exactly,
gradients to float tolerance) and the graph/break counts.
"""

import pytest
import torch
from torch import nn

from jelly import neurons, surrogates
from jelly.core import functional, layers

pytestmark = pytest.mark.slow


def make_net(backend: str) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        layers.Linear(12, 16, step_mode="m"),
        neurons.LIFNode(tau=2.0, surrogate_function=surrogates.ATan(), step_mode="m", backend=backend),
        layers.Linear(16, 4, step_mode="m"),
        neurons.LIFNode(tau=2.0, surrogate_function=surrogates.ATan(), step_mode="m", backend=backend,
                        detach_reset=True),
    )
    with torch.no_grad():  # weights that make both layers fire now and then
        net[0].weight.uniform_(-0.2, 0.5)
        net[2].weight.uniform_(-0.2, 0.8)
    return net


def run(net: nn.Module, x: torch.Tensor):
    functional.reset_net(net)
    out = net(x)
    loss = (out * torch.arange(out.numel(), dtype=out.dtype).view_as(out).sin()).sum()
    grads = torch.autograd.grad(loss, [x] + list(net.parameters()))
    return out.detach(), grads


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_compiled_multistep_lif_network_matches_eager(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    torch._dynamo.reset()
    net = make_net(backend)
    x = (torch.rand(8, 3, 12) * 1.5).requires_grad_()
    eager_out, eager_grads = run(net, x)
    assert 0 < eager_out.sum() < eager_out.numel()
    compiled = torch.compile(net)
    for _ in range(2):  # the second call reuses the compiled graph(s)
        out, grads = run(compiled, x)
        assert torch.equal(out, eager_out)
        for a, b in zip(grads, eager_grads):
            assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)
    functional.reset_net(net)
    explanation = torch._dynamo.explain(net)(x)
    if backend == "torch":
        assert explanation.graph_break_count == 0, explanation.break_reasons
        assert explanation.graph_count == 1
    else:
        assert explanation.graph_break_count >= 1
