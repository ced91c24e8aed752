"""The arithmetic of the CuPy kernels against the torch reference, on the CPU.

``tests/cuda_host/single_state_harness.cpp`` compiles the per-thread bodies of
``kernels/single_state.cuh`` (the code every ``__global__`` kernel runs) with g++ and
runs them over all thread indices on the host, in float32. The parameters are packed by
the backend's own :func:`~jelly.neurons.backends.cupy.single_state.linear_charge_spec` and
friends, so this checks the Python-to-C++ contract too. Needs only g++ (skipped without).

Tolerances: the kernels multiply by ``float32(1/tau)`` (as PyTorch does on a GPU) while the
reference divides on the CPU, so ``h`` may differ by an ulp; elements whose reference
membrane comes within 1e-5 of the threshold (where a spike could flip) are left out, and
there must be few of them.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from jelly import surrogates as sg
from jelly.neurons.backends.cupy import loader
from jelly.neurons.backends.cupy import single_state as ss
from jelly.neurons.functional.integrate_fire import LinearChargeParams, linear_charge_multistep_reference
from jelly.neurons.functional.nonlinear_if import (
    EIFParams,
    QIFParams,
    eif_multistep_reference,
    qif_multistep_reference,
)
from jelly.surrogates.cuda_sources import cuda_functor, cuda_include_dir

torch.set_num_threads(1)
HERE = Path(__file__).parent
NEURON_IDS = {"IF": 0, "LIF<true>": 1, "LIF<false>": 2, "PLIF<true>": 3, "PLIF<false>": 4, "QIF": 5, "EIF": 6}
SURROGATE_IDS = {"ATan": 0, "PiecewiseQuadratic": 1, "Sigmoid": 2}
F32P = ctypes.POINTER(ctypes.c_float)


def _build(tmp_path_factory, name: str):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not found")
    out = tmp_path_factory.mktemp("harness") / f"{name}.so"
    cmd = [compiler, "-O1", "-std=c++17", "-shared", "-fPIC", "-Wno-unknown-pragmas",
           f"-I{loader.kernels_dir()}", f"-I{cuda_include_dir()}", str(HERE / "cuda_host" / f"{name}.cpp"),
           "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(out))


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    lib = _build(tmp_path_factory, "single_state_harness")
    lib.jelly_forward.restype = ctypes.c_int
    lib.jelly_backward.restype = ctypes.c_int
    return lib


def _ptr(t: torch.Tensor | None):
    return ctypes.cast(None, F32P) if t is None else ctypes.cast(t.data_ptr(), F32P)


def _run_kernels(lib, spec, surrogate, x_seq, v_init, k, grad_s, grad_v, vec, grad_h=None):
    """Forward then backward through the harness; returns the outputs and gradients."""
    functor = spec.functor.removeprefix("jelly::neurons::")
    neuron_id, reset_id = NEURON_IDS[functor], (0 if spec.reset == "HardReset" else 1)
    T, numel = x_seq.shape[0], v_init.numel()
    s, v, h = (torch.empty_like(x_seq) for _ in range(3))
    p = torch.tensor(spec.params, dtype=torch.float32)
    f = ctypes.c_float
    assert lib.jelly_forward(neuron_id, reset_id, vec, _ptr(x_seq), _ptr(v_init), _ptr(s), _ptr(v), _ptr(h),
                             _ptr(k), _ptr(p), f(spec.v_threshold), f(spec.v_reset), ctypes.c_int64(numel), T) == 0
    cs = cuda_functor(surrogate)
    sp = torch.tensor(cs.params, dtype=torch.float32)
    gx, gv0 = torch.empty_like(x_seq), torch.empty_like(v_init)
    param_grad = ctypes.c_float(0.0)
    assert lib.jelly_backward(neuron_id, reset_id, SURROGATE_IDS[type(surrogate).__name__], int(spec.detach_reset),
                              vec, _ptr(grad_s), _ptr(grad_v), _ptr(grad_h), _ptr(h), _ptr(v_init), _ptr(gx),
                              _ptr(gv0), _ptr(k), _ptr(p), f(spec.v_threshold), f(spec.v_reset), _ptr(sp),
                              ctypes.c_int64(numel), T, ctypes.byref(param_grad)) == 0
    return s, v, h, gx, gv0, param_grad.value


def _reference(kind, params, surrogate, x_seq, v_init, w, grad_s, grad_v):
    x = x_seq.clone().requires_grad_(True)
    v0 = v_init.clone().requires_grad_(True)
    ww = None if w is None else w.clone().requires_grad_(True)
    if kind == "linear":
        k = torch.sigmoid(ww) if ww is not None else None
        s, v = linear_charge_multistep_reference(x, v0, params, surrogate, k)
    elif kind == "qif":
        s, v = qif_multistep_reference(x, v0, params, surrogate)
    else:
        s, v = eif_multistep_reference(x, v0, params, surrogate)
    loss = (s * grad_s).sum() + ((v * grad_v).sum() if grad_v is not None else 0.0)
    grads = torch.autograd.grad(loss, [x, v0] + ([ww] if ww is not None else []))
    # the charged membranes, to find near-threshold elements
    v_prev = torch.cat([v_init.unsqueeze(0), v.detach()[:-1]])
    return s.detach(), v.detach(), grads, v_prev


CASES = [
    ("linear", LinearChargeParams("if", 1.0, 0.0)),
    ("linear", LinearChargeParams("if", 0.7, None, detach_reset=True)),
    ("linear", LinearChargeParams("lif", 1.0, 0.0, tau=2.0)),
    ("linear", LinearChargeParams("lif", 1.0, -0.2, tau=3.0, decay_input=False)),
    ("linear", LinearChargeParams("lif", 0.8, None, tau=1.5, detach_reset=True)),
    ("linear", LinearChargeParams("plif", 1.0, 0.0)),
    ("linear", LinearChargeParams("plif", 1.0, None, decay_input=False)),
    ("linear", LinearChargeParams("plif", 0.9, 0.1, detach_reset=True)),
    ("qif", QIFParams()),
    ("qif", QIFParams(tau=3.0, v_reset=None, detach_reset=True)),
    ("eif", EIFParams()),
    ("eif", EIFParams(tau=2.5, delta_T=0.5, v_reset=None)),
]


SURROGATES = [sg.ATan(), sg.PiecewiseQuadratic(alpha=1.5), sg.Sigmoid()]


@pytest.mark.parametrize("vec", [1, 4, 8])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_kernels_match_reference(harness, case, vec):
    kind, params = CASES[case]
    surrogate = SURROGATES[(case + vec) % len(SURROGATES)]
    gen = torch.Generator().manual_seed(1000 + case)
    T, N = 6, 64
    x_seq = torch.rand(T, N, generator=gen) * 3.0 - 0.5
    v_init = torch.rand(N, generator=gen) * 0.5
    grad_s = torch.randn(T, N, generator=gen)
    grad_v = torch.randn(T, N, generator=gen) if case % 2 == 0 else None
    w = torch.tensor(-0.4) if kind == "linear" and params.kind == "plif" else None
    spec = {"linear": ss.linear_charge_spec, "qif": ss.qif_spec, "eif": ss.eif_spec}[kind](params)
    k = torch.sigmoid(w).reshape(1) if w is not None else None
    s, v, h, gx, gv0, param_grad = _run_kernels(harness, spec, surrogate, x_seq, v_init, k, grad_s, grad_v, vec)
    ref_s, ref_v, ref_grads, _ = _reference(kind, params, surrogate, x_seq, v_init, w, grad_s, grad_v)

    near = ((h - spec.v_threshold).abs() < 1e-5).any(dim=0)
    assert near.sum() <= 2, "too many near-threshold elements for this seed"
    keep = ~near
    assert torch.equal(s[:, keep], ref_s[:, keep])
    assert s.sum() > 0 and (s == 0).any(), "the case should both fire and stay silent"
    torch.testing.assert_close(v[:, keep], ref_v[:, keep], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gx[:, keep], ref_grads[0][:, keep], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gv0[keep], ref_grads[1][keep], rtol=1e-4, atol=1e-5)
    if w is not None:
        assert not near.any(), "pick a seed without near-threshold elements for PLIF (the w gradient sums them)"
        # the kernel returns dL/dk; chain through k = sigmoid(w)
        kk = torch.sigmoid(w)
        torch.testing.assert_close(torch.tensor(param_grad * float(kk * (1 - kk))), ref_grads[2], rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize("threshold_related", [True, False])
def test_liaf_gradient_through_the_charged_membrane(harness, threshold_related):
    """LIAF's output is act(h): its gradient enters the kernels' backward as grad_h."""
    from jelly.neurons.functional.liaf import liaf_multistep_reference

    params = LinearChargeParams("lif", 1.0, 0.0, tau=2.0)
    gen = torch.Generator().manual_seed(7)
    x_seq = torch.rand(6, 64, generator=gen) * 3.0 - 0.5
    v_init = torch.rand(64, generator=gen) * 0.5
    grad_y, grad_v = torch.randn(6, 64, generator=gen), torch.randn(6, 64, generator=gen)
    spec = ss.linear_charge_spec(params)
    # forward once to get h, then backward with grad_h = dL/dy * act'(.)
    s, v, h, *_ = _run_kernels(harness, spec, sg.ATan(), x_seq, v_init, None, torch.zeros_like(x_seq), grad_v, 4)
    shift = params.v_threshold if threshold_related else 0.0
    grad_h = grad_y * ((h - shift) > 0).float()
    *_, gx, gv0, _ = _run_kernels(harness, spec, sg.ATan(), x_seq, v_init, None, None, grad_v, 4, grad_h)
    x = x_seq.clone().requires_grad_(True)
    v0 = v_init.clone().requires_grad_(True)
    y, v_ref = liaf_multistep_reference(x, v0, params, torch.relu, threshold_related, sg.ATan())
    ref_gx, ref_gv0 = torch.autograd.grad((y * grad_y).sum() + (v_ref * grad_v).sum(), (x, v0))
    torch.testing.assert_close(v, v_ref.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gx, ref_gx, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gv0, ref_gv0, rtol=1e-4, atol=1e-5)


def test_half_store_keeps_spikes_consistent():
    """store_charged's rule, restated in numpy: rounding never moves h across the threshold."""
    rng = np.random.default_rng(0)
    v_th = np.float32(1.0)
    h = (v_th + rng.normal(0, 1e-3, 10000)).astype(np.float32)
    spike = h >= v_th
    nearest = h.astype(np.float16)
    wrong = (nearest.astype(np.float32) >= v_th) != spike
    assert wrong.any(), "round-to-nearest alone does move some values across the threshold"
