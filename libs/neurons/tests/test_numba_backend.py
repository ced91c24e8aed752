"""The fused CPU backends ``'numba'`` and ``'numba_recompute'`` against the per-step reference."""

import itertools
import subprocess
import sys

import pytest
import torch

numba = pytest.importorskip("numba")

from jelly import neurons, surrogates  # noqa: E402
from jelly.core import functional  # noqa: E402
from jelly.neurons.backends import BackendUnavailableError, numba_cpu, resolve  # noqa: E402

MODELS = {
    "if": (neurons.IFNode, {}),
    "lif": (neurons.LIFNode, {"tau": 2.0}),
    "lif_tau3_nodecay": (neurons.LIFNode, {"tau": 3.0, "decay_input": False}),
    "lif_tau2.7": (neurons.LIFNode, {"tau": 2.7, "v_threshold": 0.9}),
    "plif": (neurons.ParametricLIFNode, {"init_tau": 2.5}),
    "plif_nodecay": (neurons.ParametricLIFNode, {"init_tau": 4.0, "decay_input": False}),
}
V_RESETS = [0.0, None, -0.2]
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}

# One instance per supported surrogate, hyper-parameters away from the defaults.
SURROGATES = [
    surrogates.ATan(alpha=3.0),
    surrogates.Sigmoid(alpha=5.0),
    surrogates.PiecewiseQuadratic(alpha=1.5),
    surrogates.SoftSign(alpha=2.5),
    surrogates.Erf(alpha=1.7),
    surrogates.PiecewiseExp(alpha=1.3),
    surrogates.PiecewiseLeakyReLU(w=0.6, c=0.05),
    surrogates.Rect(alpha=0.8),
    surrogates.QPseudoSpike(alpha=2.5),
    surrogates.S2NN(alpha=3.0, beta=0.7),
    surrogates.LogTailedReLU(alpha=0.1),
    surrogates.FakeNumericalGradient(alpha=0.4),
    surrogates.LeakyKReLU(leak=0.1, k=0.9),
    surrogates.SquarewaveFourierSeries(n=4, T_period=6.0),
    surrogates.SuperSpike(alpha=0.8),
    surrogates.NonzeroSignLogAbs(alpha=1.5),
    surrogates.DeterministicPass(),
]


def make(model, v_reset=0.0, detach_reset=False, surrogate=None, **kw):
    cls, extra = MODELS[model]
    surrogate = surrogates.ATan() if surrogate is None else surrogate
    return cls(v_reset=v_reset, detach_reset=detach_reset, surrogate_function=surrogate, **extra, **kw)


def run_backend(backend, model, v_reset, detach_reset, surrogate, x, v0, weight):
    """Spikes, final/all membranes and gradients (input, v_init, parameters) of one backend."""
    node = make(model, v_reset, detach_reset, surrogate, step_mode="m", backend=backend, store_v_seq=True)
    node = node.to(x.dtype)
    x_in = x.clone().requires_grad_()
    v_in = v0.clone().requires_grad_()
    node.v = v_in
    s = node(x_in)
    loss = (s * weight).sum() + (node.v_seq * weight.flip(0)).square().sum()
    grads = torch.autograd.grad(loss, [x_in, v_in] + list(node.parameters()))
    return s.detach(), node.v_seq.detach(), grads


def assert_same(fast, ref, dtype):
    (s, v, g), (s_ref, v_ref, g_ref) = fast, ref
    tol = TOL[dtype]
    assert torch.equal(s, s_ref), "spikes differ"
    assert torch.equal(v, v_ref), (v - v_ref).abs().max()
    assert 0 < s.sum() < s.numel()
    assert len(g) == len(g_ref)
    for a, b in zip(g, g_ref):
        scale = b.abs().max().clamp(min=1.0)
        assert torch.allclose(a, b, atol=tol * scale, rtol=tol), ((a - b).abs().max(), scale)


def inputs(shape, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=gen, dtype=dtype) * 1.3 + 0.5
    v0 = torch.randn(*shape[1:], generator=gen, dtype=dtype) * 0.3
    weight = torch.randn(*shape, generator=gen, dtype=dtype)
    return x, v0, weight


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("model, v_reset, detach_reset", list(itertools.product(MODELS, V_RESETS, [False, True])))
def test_numba_matches_reference(model, v_reset, detach_reset, dtype):
    # 3 * 350 elements per step: two full blocks of 512 and a partial one.
    x, v0, weight = inputs((11, 3, 350), dtype)
    ref = run_backend("reference", model, v_reset, detach_reset, None, x, v0, weight)
    assert_same(run_backend("numba", model, v_reset, detach_reset, None, x, v0, weight), ref, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
def test_every_supported_surrogate_matches_reference(surrogate, dtype):
    x, v0, weight = inputs((9, 2, 300), dtype, seed=1)
    for model, v_reset in (("lif", 0.0), ("plif", None)):
        ref = run_backend("reference", model, v_reset, False, surrogate, x, v0, weight)
        assert_same(run_backend("numba", model, v_reset, False, surrogate, x, v0, weight), ref, dtype)


def test_supported_surrogates_are_the_closed_form_ones():
    names = {cls.__name__ for cls in numba_cpu.SUPPORTED_SURROGATES}
    required = {"ATan", "Sigmoid", "PiecewiseQuadratic", "SoftSign", "Erf", "PiecewiseExp", "PiecewiseLeakyReLU",
                "Rect", "QPseudoSpike", "S2NN", "LogTailedReLU", "FakeNumericalGradient", "LeakyKReLU",
                "SquarewaveFourierSeries"}
    assert required <= names
    assert {type(s).__name__ for s in SURROGATES} == names
    assert "PoissonPass" not in names  # random forward: not the Heaviside step the kernel fires with


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
def test_kernel_derivative_equals_torch_derivative_at_special_points(surrogate):
    from jelly.neurons.backends import numba_kernels

    special = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-9, -1e-9, 1e3, -1e3]
    for name in ("alpha", "w"):
        if hasattr(surrogate, name):
            value = getattr(surrogate, name)
            special += [value, -value, 1 / value, -1 / value, 0.5 / value, -0.5 / value]
    u = torch.tensor(special + torch.linspace(-4, 4, 101).tolist(), dtype=torch.float64)
    setup = numba_cpu._Setup(_params(), surrogate, None, torch.float64)
    out = torch.empty_like(u)
    numba_kernels.surrogate_slopes(setup.code, u.numpy(), 0.0, setup.sp[0], setup.sp[1], out.numpy())
    assert torch.allclose(out, surrogate.derivative(u), rtol=1e-12, atol=1e-15)


def _params():
    from jelly.neurons.functional.integrate_fire import LinearChargeParams

    return LinearChargeParams("lif")


@pytest.mark.parametrize("model, v_reset", list(itertools.product(MODELS, [0.0, None])))
def test_recompute_variant_equals_numba_bit_for_bit(model, v_reset):
    """``'numba_recompute'`` rebuilds the same ``h`` bit for bit, so every gradient is identical."""
    x, v0, weight = inputs((7, 2, 600), torch.float32, seed=2)
    a = run_backend("numba", model, v_reset, False, None, x, v0, weight)
    b = run_backend("numba_recompute", model, v_reset, False, None, x, v0, weight)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    for ga, gb in zip(a[2], b[2]):
        assert torch.equal(ga, gb)


@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (3, 2, 3, 4), (2, 1100)])
def test_shapes(shape):
    x, v0, weight = inputs(shape, torch.float64, seed=3)
    x = x * 2  # make single-element shapes fire
    for model in ("lif", "plif"):
        ref = run_backend("reference", model, 0.0, False, None, x, v0, weight)
        s, v, g = run_backend("numba", model, 0.0, False, None, x, v0, weight)
        assert torch.equal(s, ref[0]) and torch.equal(v, ref[1])
        for a, b in zip(g, ref[2]):
            assert torch.allclose(a, b, atol=1e-10, rtol=1e-10)


def test_noncontiguous_input_and_time_broadcast_gradient():
    x, _, _ = inputs((40, 8), torch.float32, seed=4)
    outs = []
    for backend in ("reference", "numba"):
        x_in = x.t().contiguous().t() if backend == "numba" else x.clone()  # same values, [8, 40] storage
        assert x_in.is_contiguous() == (backend == "reference")
        x_in.requires_grad_()
        s = neurons.LIFNode(step_mode="m", backend=backend)(x_in)
        s.sum().backward()  # the spike gradient is a ones tensor expanded over time (stride 0)
        outs.append((s, x_in.grad))
    assert torch.equal(outs[0][0], outs[1][0])
    assert torch.allclose(outs[0][1], outs[1][1], atol=1e-6)


def test_without_grad_nothing_is_saved_and_outputs_match():
    x, _, _ = inputs((6, 3, 5), torch.float32, seed=5)
    ref = neurons.LIFNode(step_mode="m", backend="reference")(x)
    node = neurons.LIFNode(step_mode="m", backend="numba")
    with torch.no_grad():
        s = node(x.clone().requires_grad_())
    assert s.grad_fn is None and torch.equal(s, ref)
    functional.reset_net(node)
    with torch.inference_mode():
        assert torch.equal(node(x), ref)


def test_auto_picks_numba_for_cpu_float_tensors():
    node = neurons.LIFNode(step_mode="m")
    for dtype in (torch.float32, torch.float64):
        res = neurons.describe(node, torch.rand(3, 2, dtype=dtype))
        assert res.backend == "numba" and "auto" in res.reason


def test_auto_falls_back_with_a_reason_for_other_dtypes():
    node = neurons.LIFNode(step_mode="m")
    res = neurons.describe(node, torch.rand(3, 2, dtype=torch.bfloat16))
    assert res.backend == "torch"
    assert "bfloat16" in res.rejected["numba"] and "bfloat16" in res.reason
    with pytest.raises(BackendUnavailableError, match="bfloat16"):
        neurons.LIFNode(step_mode="m", backend="numba")(torch.rand(3, 2, dtype=torch.bfloat16))


class _SubclassedSigmoid(surrogates.Sigmoid):
    """A user subclass: its backward may differ from the parent's, so no kernel is assumed."""


@pytest.mark.parametrize("surrogate", [surrogates.PoissonPass(), surrogates.Sigmoid(spiking=False),
                                       _SubclassedSigmoid()], ids=["PoissonPass", "primitive", "subclass"])
def test_unsupported_surrogate_auto_falls_back_and_explicit_raises(surrogate):
    node = neurons.LIFNode(step_mode="m", surrogate_function=surrogate)
    x = torch.rand(4, 3)
    res = neurons.describe(node, x)
    assert res.backend == "torch"
    assert type(surrogate).__name__ in res.rejected["numba"]
    res = resolve("linear_charge_multistep", "auto", x, surrogate_function=surrogate)
    assert res.backend == "torch"
    explicit = neurons.LIFNode(step_mode="m", surrogate_function=surrogate, backend="numba")
    with pytest.raises(BackendUnavailableError, match=type(surrogate).__name__):
        explicit(x)
    # Called directly (no resolution), the backend refuses too instead of computing garbage.
    with pytest.raises(BackendUnavailableError, match=type(surrogate).__name__):
        numba_cpu.linear_charge_multistep_numba(x, torch.zeros(3), _params(), surrogate)


def test_missing_numba_gives_the_install_hint(monkeypatch):
    monkeypatch.setattr(numba_cpu, "numba_installed", lambda: False)
    res = neurons.describe(neurons.LIFNode(step_mode="m"), torch.rand(2, 2))
    assert res.backend == "torch"
    assert 'pip install "jelly-neurons[cpu]"' in res.rejected["numba"]
    with pytest.raises(BackendUnavailableError, match=r"jelly-neurons\[cpu\]"):
        neurons.LIFNode(step_mode="m", backend="numba")(torch.rand(2, 2))


def test_numba_is_not_imported_with_the_package():
    code = "import sys, jelly.neurons; assert 'numba' not in sys.modules, 'numba imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_threads_follow_torch_and_give_the_same_result():
    x, _, weight = inputs((16, 8, 8192), torch.float32, seed=6)  # 2^20 element-steps: 2 threads
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            numba_cpu._POOL.clear()
            results.append(run_backend("numba", "lif", 0.0, False, None, x, x[0] * 0, weight))
            assert len(numba_cpu._POOL) == threads - 1  # the caller's thread plus threads - 1 workers
    finally:
        torch.set_num_threads(before)
    (s1, v1, g1), (s2, v2, g2) = results
    assert torch.equal(s1, s2) and torch.equal(v1, v2)
    for a, b in zip(g1, g2):
        assert torch.equal(a, b)


GRADCHECK_CASES = [("numba", model, v_reset) for model in ("if", "lif", "lif_tau3_nodecay", "plif", "plif_nodecay")
                   for v_reset in (0.0, None)] + [("numba_recompute", "lif", 0.0), ("numba_recompute", "plif", None)]


@pytest.mark.parametrize("backend, model, v_reset", GRADCHECK_CASES)
def test_gradcheck_membrane_float64(backend, model, v_reset):
    """gradcheck of the membrane output (and PLIF's w) with ``detach_reset=True`` (see test_integrate_fire)."""
    torch.manual_seed(3)
    node = make(model, v_reset, True, surrogates.Sigmoid(), step_mode="m", backend=backend, store_v_seq=True)
    node = node.double()
    x = (torch.rand(6, 2, 3, dtype=torch.float64) * 1.6).requires_grad_()
    params = list(node.parameters())

    def membrane(x_seq, *ps):
        functional.reset_net(node)
        node(x_seq)
        return node.v_seq

    assert torch.autograd.gradcheck(membrane, (x, *params), eps=1e-6, atol=1e-7)
