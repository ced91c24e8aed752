"""The CUBA-LIF, Izhikevich, CLIF and KLIF kernels against the torch reference, on the CPU.

``tests/cuda_host/multi_state_harness.cpp`` compiles the kernels' per-thread bodies with
g++ and runs them on the host in float32, with the constants packed by the backend's own
``*_consts`` functions. Elements whose reference membrane comes within 1e-5 of the
threshold are left out (a rounding difference could flip their spike).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from jelly import surrogates as sg
from jelly.neurons.backends.cupy import loader, ops
from jelly.neurons.functional.clif import clif_multistep_reference
from jelly.neurons.functional.cuba_lif import CUBALIFParams, cuba_lif_multistep_reference
from jelly.neurons.functional.izhikevich import IzhikevichParams, izhikevich_multistep_reference
from jelly.neurons.functional.klif import KLIFParams, klif_multistep_reference
from jelly.surrogates.cuda_sources import cuda_include_dir

torch.set_num_threads(1)
HERE = Path(__file__).parent
F32P = ctypes.POINTER(ctypes.c_float)
ALPHA = 2.0
SURROGATE = sg.ATan(alpha=ALPHA)
T, N = 6, 64


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not found")
    out = tmp_path_factory.mktemp("harness") / "multi_state_harness.so"
    subprocess.run([compiler, "-O1", "-std=c++17", "-shared", "-fPIC", "-Wno-unknown-pragmas",
                    f"-I{loader.kernels_dir()}", f"-I{cuda_include_dir()}",
                    str(HERE / "cuda_host" / "multi_state_harness.cpp"), "-o", str(out)],
                   check=True, capture_output=True, text=True)
    library = ctypes.CDLL(str(out))
    library.jelly_klif.restype = ctypes.c_float
    return library


def _p(t):
    return None if t is None else ctypes.cast(t.data_ptr(), F32P)


def _data(seed, scale=2.5):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(T, N, generator=gen) * scale - 0.4
    s0 = torch.rand(N, generator=gen) * 0.3
    s1 = torch.rand(N, generator=gen) * 0.3
    grads = [torch.randn(T, N, generator=gen) for _ in range(3)]
    return x, s0, s1, grads


def _reference_grads(fn, inputs, outputs_weights):
    inputs = [t.clone().requires_grad_(True) for t in inputs]
    outputs = fn(*inputs)
    loss = sum((o * w).sum() for o, w in zip(outputs, outputs_weights) if w is not None)
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [o.detach() for o in outputs], [torch.zeros_like(i) if g is None else g for i, g in zip(inputs, grads)]


def _compare(h, v_threshold, got_out, ref_out, got_grads, ref_grads):
    near = ((h - v_threshold).abs() < 1e-5).any(dim=0)
    assert near.sum() <= 2, "too many near-threshold elements for this seed"
    keep = ~near
    spikes, ref_spikes = got_out[0], ref_out[0]
    assert torch.equal(spikes[:, keep], ref_spikes[:, keep])
    assert spikes.sum() > 0 and (spikes == 0).any()
    for a, b in zip(got_out[1:], ref_out[1:]):
        torch.testing.assert_close(a[..., keep], b[..., keep], rtol=1e-5, atol=1e-5)
    for a, b in zip(got_grads, ref_grads):
        torch.testing.assert_close(a[..., keep], b[..., keep], rtol=1e-4, atol=1e-5)
    return near


@pytest.mark.parametrize("vec", [1, 4, 8])
@pytest.mark.parametrize("hard,detach", [(True, False), (False, True), (True, True), (False, False)])
def test_cuba_lif(lib, hard, detach, vec):
    params = CUBALIFParams(v_reset=0.0 if hard else None, detach_reset=detach)
    x, c0, v0, (gs, gv, gc) = _data(1 + 2 * hard + detach)
    gc = gc[0]
    s, v, c_last, h, gx, gc0, gv0 = (torch.empty_like(t) for t in (x, x, c0, x, x, c0, v0))
    consts = torch.tensor(ops.cuba_lif_consts(params), dtype=torch.float32)
    lib.jelly_cuba(int(hard), int(detach), vec, _p(x), _p(c0), _p(v0), _p(s), _p(v), _p(c_last), _p(h), _p(gs),
                   _p(gv), _p(gc), _p(gx), _p(gc0), _p(gv0), _p(consts), ctypes.c_float(ALPHA), ctypes.c_int64(N), T)
    ref_out, ref_grads = _reference_grads(
        lambda x_, c_, v_: cuba_lif_multistep_reference(x_, c_, v_, params, SURROGATE), [x, c0, v0], [gs, gv, gc])
    _compare(h, params.v_threshold, [s, v, c_last], ref_out, [gx, gc0, gv0], ref_grads)


@pytest.mark.parametrize("vec", [1, 4, 8])
@pytest.mark.parametrize("hard,detach", [(True, False), (False, True), (True, True), (False, False)])
def test_izhikevich(lib, hard, detach, vec):
    params = IzhikevichParams(v_reset=0.0 if hard else None, a=0.5, b=0.2, tau_w=3.0, detach_reset=detach)
    x, v0, w0, (gs, gv, gw) = _data(11 + 2 * hard + detach, scale=2.0)
    gw = gw[0]
    s, v, w_last, h, gx, gv0, gw0 = (torch.empty_like(t) for t in (x, x, w0, x, x, v0, w0))
    consts = torch.tensor(ops.izhikevich_consts(params), dtype=torch.float32)
    lib.jelly_izhikevich(int(hard), int(detach), vec, _p(x), _p(v0), _p(w0), _p(s), _p(v), _p(w_last), _p(h),
                         _p(gs), _p(gv), _p(gw), _p(gx), _p(gv0), _p(gw0), _p(consts), ctypes.c_float(ALPHA),
                         ctypes.c_int64(N), T)
    ref_out, ref_grads = _reference_grads(
        lambda x_, v_, w_: izhikevich_multistep_reference(x_, v_, w_, params, SURROGATE), [x, v0, w0], [gs, gv, gw])
    _compare(h, params.v_threshold, [s, v, w_last], ref_out, [gx, gv0, gw0], ref_grads)


@pytest.mark.parametrize("vec", [1, 4, 8])
def test_clif(lib, vec):
    tau, v_threshold = 2.0, 1.0
    x, v0, m0, (gs, gv, gm) = _data(21)
    s, v, m, h, gx, gv0, gm0 = (torch.empty_like(t) for t in (x, x, x, x, x, v0, m0))
    inv_tau, vth = ops.clif_consts(tau, v_threshold)
    lib.jelly_clif(vec, _p(x), _p(v0), _p(m0), _p(s), _p(v), _p(m), _p(h), _p(gs), _p(gv), _p(gm), _p(gx), _p(gv0),
                   _p(gm0), ctypes.c_float(inv_tau), ctypes.c_float(vth), ctypes.c_float(ALPHA), ctypes.c_int64(N), T)
    ref_out, ref_grads = _reference_grads(
        lambda x_, v_, m_: clif_multistep_reference(x_, v_, m_, tau, v_threshold, SURROGATE), [x, v0, m0],
        [gs, gv, gm])
    _compare(h, v_threshold, [s, v, m], ref_out, [gx, gv0, gm0], ref_grads)


@pytest.mark.parametrize("vec", [1, 4, 8])
@pytest.mark.parametrize("hard,decay,scale,detach", [
    (True, True, False, False), (False, True, True, False), (True, False, True, True), (False, False, False, True),
])
def test_klif(lib, hard, decay, scale, detach, vec):
    params = KLIFParams(decay_input=decay, scale_reset=scale, v_reset=0.0 if hard else None, detach_reset=detach)
    x, v0, _, (gs, gv, _) = _data(31 + hard + 2 * decay + 4 * scale)
    k = torch.tensor(1.3)
    s, v, h, gx, gv0 = (torch.empty_like(t) for t in (x, x, x, x, v0))
    consts = torch.tensor(ops.klif_consts(params), dtype=torch.float32)
    grad_k = lib.jelly_klif(int(hard), int(decay), int(scale), int(detach), vec, _p(x), _p(v0), _p(s), _p(v), _p(h),
                            _p(gs), _p(gv), _p(gx), _p(gv0), ctypes.c_float(float(k)), _p(consts),
                            ctypes.c_float(ALPHA), ctypes.c_int64(N), T)
    ref_out, ref_grads = _reference_grads(
        lambda x_, v_, k_: klif_multistep_reference(x_, v_, k_, params, SURROGATE), [x, v0, k], [gs, gv])
    f = torch.relu(k * h)  # the kernel stores the LIF charge; KLIF fires on f = relu(k h)
    near = _compare(f, params.v_threshold, [s, v], ref_out, [gx, gv0], ref_grads[:2])
    if not near.any():
        torch.testing.assert_close(torch.tensor(grad_k), ref_grads[2], rtol=1e-4, atol=1e-4)
