"""GPU tests of the ``triton`` backend (marked ``cuda``; skipped without a CUDA GPU).

``bench/gpu_check.py`` runs the full parity cross product; these are the focused checks
that need the compiled kernels on a real GPU: float32 forwards of every model equal to the
reference (bit for bit where the module docstrings promise it), a training step of every
model under ``torch.compile`` (inductor) equal to eager, CUDA graph capture of forward and
backward, a side stream, and autocast.
"""

from __future__ import annotations

import copy

import pytest
import torch

from jelly import neurons, surrogates
from jelly.core.functional import reset_net

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

SG = surrogates.ATan()
T, N, C = 8, 4, 16
MODELS = {
    "LIF": lambda: neurons.LIFNode(tau=2.0, surrogate_function=SG),
    "PLIF": lambda: neurons.ParametricLIFNode(surrogate_function=SG),
    "QIF": lambda: neurons.QIFNode(surrogate_function=SG),
    "EIF": lambda: neurons.EIFNode(surrogate_function=SG),
    "KLIF": lambda: neurons.KLIFNode(scale_reset=True, surrogate_function=SG),
    "LIAF": lambda: neurons.LIAFNode(act=torch.relu, threshold_related=True, surrogate_function=SG),
    "CUBA-LIF": lambda: neurons.CUBALIFNode(surrogate_function=SG),
    "CLIF": lambda: neurons.ComplementaryLIFNode(surrogate_function=SG),
    "Izhikevich": lambda: neurons.IzhikevichNode(a=0.5, b=0.2, surrogate_function=SG),
    "GatedLIF": lambda: neurons.GatedLIFNode(T=T, inplane=C, surrogate_function=SG),
}


@pytest.fixture(scope="module", autouse=True)
def triton_ready():
    pytest.importorskip("triton")
    from jelly.neurons.backends.triton.availability import triton_problem

    problem = triton_problem(torch.zeros(1, device="cuda"))
    if problem:
        pytest.skip(problem)


def _module(name: str, backend: str):
    module = MODELS[name]().cuda()
    module.step_mode = "m"
    module.backend = backend
    return module


def _train_step(module, x):
    reset_net(module)
    inp = x.detach().clone().requires_grad_(True)
    out = module(inp)
    out.float().sum().backward()
    return out.detach(), inp.grad.detach(), [p.grad.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("name", list(MODELS))
def test_float32_matches_the_reference(name):
    torch.manual_seed(0)
    x = torch.rand(T, N, C, 5, device="cuda") * 2.5 - 0.4
    triton_module = _module(name, "triton")
    reference = copy.deepcopy(triton_module)
    reference.backend = "reference"
    out, gx, gp = _train_step(triton_module, x)
    ref_out, ref_gx, ref_gp = _train_step(reference, x)
    assert torch.equal(out, ref_out), f"{name}: outputs differ"
    torch.testing.assert_close(gx, ref_gx, rtol=1e-4, atol=1e-5)
    for a, b in zip(gp, ref_gp):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", list(MODELS))
def test_inductor_compiled_training_step_matches_eager(name):
    torch.manual_seed(1)
    x = torch.rand(T, N, C, 5, device="cuda") * 2.5 - 0.4
    module = _module(name, "triton")
    eager = copy.deepcopy(module)
    compiled = torch.compile(module)
    out, gx, _ = _train_step(compiled, x)
    ref_out, ref_gx, _ = _train_step(eager, x)
    assert torch.equal(out, ref_out)
    torch.testing.assert_close(gx, ref_gx, rtol=1e-5, atol=1e-6)


def test_cuda_graph_captures_forward_and_backward():
    from jelly.neurons.backends.registry import _REGISTRY
    from jelly.neurons.functional.integrate_fire import LinearChargeParams

    fn = _REGISTRY["linear_charge_multistep"]["triton"].fn
    params = LinearChargeParams("lif", 1.0, 0.0, tau=2.0)
    x = torch.rand(T, 1 << 14, device="cuda", requires_grad=True)
    v0 = torch.zeros(1 << 14, device="cuda")
    grad = torch.randn(T, 1 << 14, device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm up: compile and load the kernels before capturing
        for _ in range(2):
            x.grad = None
            fn(x, v0, params, SG)[0].backward(grad)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    x.grad = None
    with torch.cuda.graph(graph):
        spikes, _ = fn(x, v0, params, SG)
        spikes.backward(grad)
    with torch.no_grad():
        x.copy_(torch.rand_like(x))
    graph.replay()
    torch.cuda.synchronize()
    xr = x.detach().clone().requires_grad_(True)
    ref_s, _ = _REGISTRY["linear_charge_multistep"]["reference"].fn(xr, v0, params, SG)
    ref_s.backward(grad)
    assert torch.equal(spikes, ref_s)
    torch.testing.assert_close(x.grad, xr.grad, rtol=1e-5, atol=1e-6)


def test_runs_on_the_current_side_stream():
    lif = _module("LIF", "triton")
    x = torch.rand(16, 1 << 18, device="cuda") * 2
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        total = lif(x).sum()  # same stream: ordered after the kernel
    torch.cuda.synchronize()
    reference = _module("LIF", "reference")
    assert total.item() == reference(x).sum().item()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_autocast_feeds_16_bit_and_trains(dtype):
    conv = torch.nn.Conv1d(C, C, 3, padding=1).cuda()
    glif = _module("GatedLIF", "triton")
    x = torch.rand(T, N, C, 32, device="cuda")
    with torch.autocast("cuda", dtype=dtype):
        y = conv(x.flatten(0, 1)).unflatten(0, (T, N))
        out = glif(y)
    assert y.dtype == out.dtype == dtype
    out.float().sum().backward()
    assert torch.isfinite(conv.weight.grad).all() and all(torch.isfinite(p.grad).all() for p in glif.parameters())
