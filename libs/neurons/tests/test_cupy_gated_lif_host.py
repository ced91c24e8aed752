"""The GLIF kernels of the ``cupy`` backend against the reference loop, on the CPU.

``tests/cuda_host/gated_lif_harness.cpp`` compiles the per-thread forward and backward
bodies of ``kernels/gated_lif.cu`` with g++ and runs them on the host in float32. The gates
go through the backend's own :func:`~jelly.neurons.backends.cupy.gated_lif.prepare_gates`
and the kernel's partial sums through its
:func:`~jelly.neurons.backends.cupy.gated_lif.reduce_partials`, so everything but the launch
is what runs on a GPU; autograd then carries the ``[7, C]``/``[T, C]`` gradients back to the
gate shapes, which are compared with :func:`gated_lif_multistep_reference`'s.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from jelly import surrogates as sg
from jelly.neurons.backends.cupy import gated_lif as glif
from jelly.neurons.backends.cupy import loader
from jelly.neurons.functional.gated_lif import GLIFGates, gated_lif_multistep_reference
from jelly.surrogates.cuda_sources import cuda_functor, cuda_include_dir

torch.set_num_threads(1)
HERE = Path(__file__).parent
F32P = ctypes.POINTER(ctypes.c_float)
#: surrogate class -> id in the harness
SURROGATE_IDS = {sg.ATan: 0, sg.Sigmoid: 1, sg.PiecewiseQuadratic: 2}


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not found")
    out = tmp_path_factory.mktemp("harness") / "gated_lif_harness.so"
    subprocess.run([compiler, "-O1", "-std=c++17", "-shared", "-fPIC", "-Wno-unknown-pragmas",
                    f"-I{loader.kernels_dir()}", f"-I{cuda_include_dir()}",
                    str(HERE / "cuda_host" / "gated_lif_harness.cpp"), "-o", str(out)],
                   check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(out))


def _p(t):
    return None if t is None else ctypes.cast(t.data_ptr(), F32P)


def _leaves(seed: int, steps: int, step_shape: tuple[int, ...], channel_wise: bool):
    """Inputs and gates (after the sigmoid) shaped as GatedLIFNode passes them."""
    gen = torch.Generator().manual_seed(seed)
    channels = step_shape[1]
    gate_shape = (channels,) + (1,) * (len(step_shape) - 2) if channel_wise else ()
    # pre-sigmoid values around the module's initial ones, spread so that channels differ
    centres = (0.0, 0.0, 0.0, -1.1, 0.0, -2.0, 0.0)  # alpha beta gamma tau v_th ld v_sr
    gates = [torch.sigmoid(c + torch.randn(gate_shape, generator=gen)) for c in centres]
    conduct = torch.sigmoid(torch.randn((steps, *gate_shape), generator=gen))
    x = torch.rand(steps, *step_shape, generator=gen) * 1.6 - 0.3
    u0 = torch.rand(step_shape, generator=gen) * 0.5
    s0 = (torch.rand(step_shape, generator=gen) < 0.3).float()
    grad_s = torch.randn(steps, *step_shape, generator=gen)
    grad_u = torch.randn(steps, *step_shape, generator=gen)
    return x, u0, s0, gates, conduct, grad_s, grad_u


def _reference(x, u0, s0, gates, conduct, surrogate, grad_s, grad_u):
    leaves = [t.clone().requires_grad_(True) for t in (x, u0, s0, *gates, conduct)]
    spikes, u_seq = gated_lif_multistep_reference(leaves[0], leaves[1], leaves[2], GLIFGates(*leaves[3:10]),
                                                  leaves[10], surrogate)
    loss = (spikes * grad_s).sum() + (0 if grad_u is None else (u_seq * grad_u).sum())
    grads = torch.autograd.grad(loss, leaves)
    return spikes.detach(), u_seq.detach(), list(grads)


def _kernel(lib, x, u0, s0, gates, conduct, surrogate, grad_s, grad_u, vec):
    steps, step_shape = x.shape[0], x.shape[1:]
    channels, inner = glif.channel_layout(gates, conduct, step_shape)
    leaves = [t.clone().requires_grad_(True) for t in (*gates, conduct)]
    packed, conduct32 = glif.prepare_gates(leaves[:7], leaves[7], steps, channels)
    numel = u0.numel()
    threads = -(-numel // vec)
    spikes, u_seq, grad_x = (torch.empty_like(x) for _ in range(3))
    grad_u0, grad_s0 = torch.empty_like(u0), torch.empty_like(s0)
    partial = torch.full((steps + glif.GATE_ROWS, threads), float("nan"))
    functor = cuda_functor(surrogate)
    status = lib.jelly_gated_lif(
        SURROGATE_IDS[type(surrogate)], vec, _p(x), _p(u0), _p(s0), _p(packed.detach()), _p(conduct32.detach()),
        _p(spikes), _p(u_seq), _p(grad_s), _p(grad_u), _p(grad_x), _p(grad_u0), _p(grad_s0), _p(partial),
        ctypes.c_float(functor.params[0]), ctypes.c_float(functor.params[1]), ctypes.c_int64(inner), channels,
        ctypes.c_int64(numel), steps)
    assert status == 0
    assert not partial.isnan().any(), "a partial-sum slot was not written"
    grad_packed, grad_conduct32 = glif.reduce_partials(partial, packed.detach(), steps, channels, inner, numel, vec)
    torch.autograd.backward([packed, conduct32], [grad_packed, grad_conduct32])
    return spikes, u_seq, [grad_x, grad_u0, grad_s0, *(t.grad for t in leaves)]


NAMES = ["x", "u_init", "spike_init", *glif.GATES, "conduct"]
CASES = [
    # (steps, step shape, channel-wise, vector width, surrogate)
    (6, (4, 3, 8), True, 4, sg.ATan(alpha=2.0)),
    (6, (4, 3, 8), True, 1, sg.Sigmoid(alpha=4.0)),
    (5, (2, 5, 3), True, 1, sg.PiecewiseQuadratic(alpha=1.0)),  # inner = 3: scalar path only
    (7, (5, 2, 2, 2), True, 4, sg.Sigmoid(alpha=4.0)),  # [N, C, H, W]
    (6, (8, 16), False, 4, sg.ATan(alpha=2.0)),  # layer-wise gates, [T] conductances
    (6, (7, 9), False, 1, sg.PiecewiseQuadratic(alpha=1.0)),
]


@pytest.mark.parametrize("with_grad_u", [True, False], ids=["grad_u", "spikes_only"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_gated_lif_kernel_matches_reference(lib, case, with_grad_u):
    steps, step_shape, channel_wise, vec, surrogate = CASES[case]
    x, u0, s0, gates, conduct, grad_s, grad_u = _leaves(100 + case, steps, step_shape, channel_wise)
    grad_u = grad_u if with_grad_u else None
    spikes, u_seq, grads = _kernel(lib, x, u0, s0, gates, conduct, surrogate, grad_s, grad_u, vec)
    ref_spikes, ref_u, ref_grads = _reference(x, u0, s0, gates, conduct, surrogate, grad_s, grad_u)
    # the same float32 operations in the same order: bit for bit
    assert torch.equal(u_seq, ref_u)
    assert torch.equal(spikes, ref_spikes)
    # both regimes are exercised: spikes (feeding the lazy reset) and silence
    assert spikes[:-1].sum() > 0 and (spikes == 0).any()
    assert (spikes.flatten(1).sum(0) == 0).any(), "no element stays silent over the whole sequence"
    for name, got, ref in zip(NAMES, grads, ref_grads):
        assert got.shape == ref.shape, name
        assert ref.abs().max() > 0, f"{name}: the reference gradient is zero, the case cannot fail"
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4, msg=lambda m, n=name: f"{n}: {m}")


def test_channel_layout_and_vector_width():
    step = torch.Size([4, 3, 8])
    scalar, channel = torch.ones(()), torch.ones(3, 1)
    assert glif.channel_layout([scalar] * 7, torch.ones(5), step) == (1, 96)
    assert glif.channel_layout([scalar] * 6 + [channel], torch.ones(5), step) == (3, 8)
    assert glif.channel_layout([scalar] * 7, torch.ones(5, 1, 3, 1), step) == (3, 8)
    # per-element gates, a gate over another dimension, more dimensions than a step: no kernel
    assert glif.channel_layout([torch.ones(4, 3, 8)] + [scalar] * 6, torch.ones(5), step) is None
    assert glif.channel_layout([torch.ones(8)] + [scalar] * 6, torch.ones(5), step) is None
    assert glif.channel_layout([torch.ones(1, 1, 1, 1)] + [scalar] * 6, torch.ones(5), step) is None
    assert glif.channel_layout([scalar] * 7, torch.ones(()), step) is None
    assert glif.channel_layout([scalar] * 7, torch.ones(5), torch.Size([7])) == (1, 7)
    # a thread's V elements share a channel: inner must be a multiple of V
    x = torch.zeros(2, 4, 3, 6)
    assert glif.kernel_vector_width(18, "float", 3, 6, x) == 1
    assert glif.kernel_vector_width(24, "float", 3, 8, x) == 4
    assert glif.kernel_vector_width(36, "float", 1, 36, x) == 4


def test_prepare_gates_packs_and_routes_gradients():
    gates = [torch.full((), 0.1 * (i + 1), requires_grad=True) for i in range(6)] + [
        torch.tensor([0.2, 0.4, 0.6]).reshape(3, 1).requires_grad_(True)]
    conduct = torch.rand(6, 3, 1, requires_grad=True)
    packed, conduct32 = glif.prepare_gates(gates, conduct, 4, 3)
    assert packed.shape == (7, 3) and conduct32.shape == (4, 3) and packed.is_contiguous()
    assert torch.equal(packed[6], torch.tensor([0.2, 0.4, 0.6])) and torch.equal(packed[0], torch.full((3,), 0.1))
    (packed.sum() + conduct32.sum()).backward()
    assert gates[0].grad == 3.0 and gates[6].grad.shape == (3, 1)
    assert torch.equal(conduct.grad[:4], torch.ones(4, 3, 1)) and torch.equal(conduct.grad[4:], torch.zeros(2, 3, 1))
