"""The ``triton`` backend against the reference, on CPU under Triton's interpreter.

Triton and the kernels are imported in interpreter mode at collection time
(:func:`jelly.neurons.backends.triton.interpreter.load_interpreted`), and an autouse fixture
sets ``TRITON_INTERPRET=1`` only while these tests run: the backend's check accepts CPU
tensors only then, so ``backend='auto'`` in the other test modules of the same process never
picks the slow interpreter. If Triton was already imported in compiled mode, or a GPU is
present (the compiled kernels are checked by the GPU check script), the module is skipped.

Tolerances: float32 spikes and membranes exactly equal to the reference (same operations in
the same order); float32 gradients to ``1e-5`` relative to the largest magnitude. float16
and bfloat16 I/O is compared with the reference run in float32 on the same (rounded)
inputs: spikes exactly (the kernels compute in float32), membranes and gradients to
``5e-3`` (float16) and ``3e-2`` (bfloat16) relative to the largest magnitude, i.e. a few
roundings of the I/O dtype (measured worst cases over 5 seeds: 2.5e-3 and 1.1e-2, both for
PLIF's ``w`` gradient, a sum over all elements and steps).
"""

import os
import sys

import pytest
import torch

from jelly import neurons, surrogates
from jelly.neurons.backends import BackendUnavailableError, resolve
from jelly.neurons.backends.torch_backends import LINEAR_CHARGE_OP
from jelly.neurons.backends.torch_nonlinear_if import EIF_OP, QIF_OP
from jelly.neurons.backends.triton.interpreter import load_interpreted
from jelly.neurons.functional.integrate_fire import LinearChargeParams
from jelly.neurons.functional.nonlinear_if import EIFParams, QIFParams

_WHY_NOT = load_interpreted()
if _WHY_NOT is not None:
    pytest.skip(_WHY_NOT, allow_module_level=True)
assert "triton" in sys.modules
torch.set_num_threads(1)

TOLERANCE = {torch.float32: 1e-5, torch.float16: 5e-3, torch.bfloat16: 3e-2}


@pytest.fixture(autouse=True)
def interpreter(monkeypatch):
    """``TRITON_INTERPRET=1`` while a test of this module runs (the check accepts CPU tensors)."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def triton_fn(op=LINEAR_CHARGE_OP):
    return resolve(op, "triton", torch.zeros(1)).fn


def reference_fn(op=LINEAR_CHARGE_OP):
    return resolve(op, "reference", torch.zeros(1)).fn


def close(actual, expected, rel, what):
    scale = max(float(expected.abs().max()), 1e-3)
    error = float((actual.float() - expected.float()).abs().max())
    assert error <= rel * scale, f"{what}: max error {error:.3g} > {rel:.1g} x {scale:.3g}"


def run(fn, x, v0, params, surrogate, w, grad_s, grad_v):
    """Forward and backward of ``fn``; returns spikes, membranes and the input gradients.

    ``w`` is PLIF's parameter for the linear-charge op, ``None`` for the other ops (whose
    functions take no ``w`` argument).
    """
    x = x.detach().clone().requires_grad_()
    v0 = v0.detach().clone().requires_grad_()
    if isinstance(params, LinearChargeParams):
        w = None if w is None else w.detach().clone().requires_grad_()
        spike, v = fn(x, v0, params, surrogate, w)
    else:
        spike, v = fn(x, v0, params, surrogate)
    inputs = [x, v0] + ([w] if w is not None else [])
    grads = torch.autograd.grad((spike * grad_s).sum() + (v * grad_v).sum(), inputs)
    return spike.detach(), v.detach(), grads


def compare(params, surrogate, dtype=torch.float32, shape=(5, 3, 7), seed=0, op=LINEAR_CHARGE_OP,
            input_scale=1.5, exact_v=True):
    """Triton (I/O in ``dtype``) against the float32 reference on the same rounded inputs."""
    torch.manual_seed(seed)
    x = (torch.randn(shape) * input_scale + 0.4).to(dtype)
    v0 = (torch.randn(shape[1:]) * 0.5).to(dtype)
    grad_s, grad_v = torch.randn(shape).to(dtype), torch.randn(shape).to(dtype)
    w = torch.tensor(0.3) if getattr(params, "kind", None) == "plif" else None
    s, v, g = run(triton_fn(op), x, v0, params, surrogate, w, grad_s, grad_v)
    s_ref, v_ref, g_ref = run(reference_fn(op), x.float(), v0.float(), params, surrogate, w,
                              grad_s.float(), grad_v.float())
    assert s.dtype == v.dtype == g[0].dtype == dtype
    assert torch.equal(s.float(), s_ref), "spikes differ"
    assert 0 < s_ref.sum() < s_ref.numel(), "the case should have both spikes and silence"
    if dtype == torch.float32 and exact_v:
        assert torch.equal(v, v_ref), "membranes differ"
    else:
        close(v, v_ref, TOLERANCE[dtype], "v_seq")
    for name, a, b in zip(("grad_x", "grad_v_init", "grad_w"), g, g_ref):
        close(a, b, TOLERANCE[dtype], name)


KINDS = ["if", "lif", "plif"]
RESETS = {"hard0": 0.0, "hard": -0.3, "soft": None}


FLOAT32_CASES = [
    (kind, reset, decay_input, detach_reset)
    for kind in KINDS
    for reset in RESETS
    for decay_input in ([True] if kind == "if" else [True, False])  # IF has no decay_input
    for detach_reset in (False, True)
]


@pytest.mark.parametrize(("kind", "reset", "decay_input", "detach_reset"), FLOAT32_CASES)
def test_float32_matches_reference(kind, reset, decay_input, detach_reset):
    params = LinearChargeParams(kind, 1.0, RESETS[reset], 1.7, decay_input, detach_reset)
    compare(params, surrogates.ATan())


SURROGATES = [
    surrogates.Sigmoid(), surrogates.ATan(alpha=3.0), surrogates.SoftSign(), surrogates.Erf(),
    surrogates.PiecewiseExp(), surrogates.QPseudoSpike(alpha=2.5), surrogates.SuperSpike(),
    surrogates.NonzeroSignLogAbs(), surrogates.SquarewaveFourierSeries(n=4, T_period=6.0),
    surrogates.PiecewiseQuadratic(), surrogates.PiecewiseLeakyReLU(w=0.7, c=0.05), surrogates.Rect(alpha=0.8),
    surrogates.S2NN(), surrogates.LogTailedReLU(alpha=0.1), surrogates.FakeNumericalGradient(),
    surrogates.LeakyKReLU(leak=0.1, k=0.9), surrogates.DeterministicPass(),
]


def test_every_triton_surrogate_is_tested():
    from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

    assert {type(s).__name__ for s in SURROGATES} == set(TRITON_DERIVATIVES)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
def test_every_surrogate_matches_reference(surrogate):
    compare(LinearChargeParams("plif", 1.0, 0.0, decay_input=True), surrogate, shape=(4, 9))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_half_precision_matches_float32_reference(dtype, kind, reset):
    params = LinearChargeParams(kind, 1.0, RESETS[reset], 2.5, True, False)
    compare(params, surrogates.Sigmoid(), dtype=dtype)


@pytest.mark.parametrize(("dtype", "detach_reset"), [(torch.float32, False), (torch.float32, True),
                                                     (torch.float16, False), (torch.bfloat16, False)], ids=str)
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("model", ["qif", "eif"])
def test_qif_and_eif_match_reference(model, reset, detach_reset, dtype):
    v_reset = -0.1 if reset == "hard" else None
    if model == "qif":
        op = QIF_OP
        params = QIFParams(tau=2.0, v_c=0.7, a0=1.2, v_rest=0.05, v_reset=v_reset, detach_reset=detach_reset)
    else:
        op = EIF_OP
        params = EIFParams(tau=2.5, delta_T=0.8, theta_rh=0.7, v_reset=v_reset, detach_reset=detach_reset)
    # EIF: NumPy's exp (the interpreter's) and PyTorch's differ in the last bit, so membranes
    # match to rounding; moderate inputs keep the soft-reset EIF from running away.
    compare(params, surrogates.Sigmoid(), dtype=dtype, shape=(5, 24), op=op, input_scale=1.0, exact_v=model == "qif")


@pytest.mark.parametrize(("v_threshold", "x_value", "fired"), [(0.3, 0.04995, False), (0.3001, 0.05012, True)])
def test_half_saved_membrane_keeps_the_forward_spike(v_threshold, x_value, fired):
    # h = 0.25 + x lies within half a float16 step of the threshold, on the other side of
    # the float16 value nearest to it: rounded naively, the saved h would flip the spike
    # the backward recomputes, and with it the reset derivative.
    h = torch.tensor(0.25) + torch.tensor(x_value).half().float()
    assert (float(h) >= v_threshold) == fired
    assert (float(h.half()) >= float(torch.tensor(v_threshold))) != fired
    params = LinearChargeParams("if", v_threshold, 0.0)
    x = torch.full((1, 1), x_value, dtype=torch.float16)
    v0 = torch.full((1,), 0.25, dtype=torch.float16)
    s, _, (grad_x, _) = run(triton_fn(), x, v0, params, surrogates.DeterministicPass(), None,
                            torch.zeros(1, 1, dtype=torch.float16), torch.ones(1, 1, dtype=torch.float16))
    assert bool(s[0, 0]) == fired
    # hard reset, surrogate slope 1: dv/dh = 1 - s + (0 - h) * 1
    assert float(grad_x[0, 0]) == pytest.approx((0.0 if fired else 1.0) - float(h), rel=2e-3)


def test_many_programs_and_plif_partial_sums(monkeypatch):
    from jelly.neurons.backends.triton import launch

    monkeypatch.setattr(launch, "_BLOCK_INTERPRETER", 16)
    assert launch.block_size(70, torch.device("cpu")) == 16
    compare(LinearChargeParams("plif", 1.0, None, decay_input=False), surrogates.ATan(), shape=(3, 70))


def test_modules_with_triton_backend_match_torch():
    torch.manual_seed(1)
    x = torch.rand(6, 4, 5) * 2
    for make, exact in (
        (lambda b: neurons.LIFNode(tau=3.0, step_mode="m", backend=b), True),
        (lambda b: neurons.ParametricLIFNode(init_tau=3.0, step_mode="m", backend=b, v_reset=None), True),
        (lambda b: neurons.QIFNode(step_mode="m", backend=b), True),
        (lambda b: neurons.EIFNode(step_mode="m", backend=b, v_reset=None), False),
    ):
        fast, slow = make("triton"), make("torch")
        assert fast.describe(x).backend == "triton"
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        sa, sb = fast(xa), slow(xb)
        assert torch.equal(sa, sb)
        assert torch.equal(fast.v, slow.v) if exact else torch.allclose(fast.v, slow.v, rtol=1e-6, atol=1e-6)
        (sa * torch.arange(sa.numel()).reshape(sa.shape)).sum().backward()
        (sb * torch.arange(sb.numel()).reshape(sb.shape)).sum().backward()
        close(xa.grad, xb.grad, 1e-5, "x.grad")
        if hasattr(fast, "w"):
            close(fast.w.grad, slow.w.grad, 1e-5, "w.grad")


def test_non_contiguous_input_inference_and_spike_only_gradient():
    torch.manual_seed(2)
    params = LinearChargeParams("lif", 1.0, 0.0, tau=2.0)
    x = (torch.randn(4, 6, 3) * 2).transpose(1, 2)  # [T, 3, 6], not contiguous
    v0 = torch.zeros(3, 6)
    with torch.no_grad():
        s, v = triton_fn()(x, v0, params, surrogates.Sigmoid())
    s_ref, v_ref = reference_fn()(x, v0, params, surrogates.Sigmoid())
    assert torch.equal(s, s_ref) and torch.equal(v, v_ref.detach())
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    triton_fn()(xa, v0, params, surrogates.Sigmoid())[0].sum().backward()
    reference_fn()(xb, v0, params, surrogates.Sigmoid())[0].sum().backward()
    close(xa.grad, xb.grad, 1e-5, "x.grad through spikes only")


def test_unsupported_surrogates_and_arguments_raise_clearly():
    params = LinearChargeParams("lif")
    x, v0 = torch.rand(2, 3), torch.zeros(3)
    with pytest.raises(BackendUnavailableError, match="PoissonPass has no Triton derivative.*backend='torch'"):
        triton_fn()(x, v0, params, surrogates.PoissonPass())
    with pytest.raises(BackendUnavailableError, match="primitive mode"):
        triton_fn()(x, v0, params, surrogates.ATan(spiking=False))

    class Custom(surrogates.ATan):
        pass

    with pytest.raises(BackendUnavailableError, match="Custom has no Triton derivative"):
        triton_fn()(x, v0, params, Custom())
    with pytest.raises(ValueError, match="v_init"):
        triton_fn()(x, torch.zeros(4), params, surrogates.ATan())
    with pytest.raises(ValueError, match="PLIF needs w"):
        triton_fn()(x, v0, LinearChargeParams("plif"), surrogates.ATan())


def test_check_declines_with_the_fix(monkeypatch):
    from jelly.neurons.backends.triton import availability

    x = torch.rand(2, 3)
    assert availability.triton_problem(x) is None
    assert "float64" in availability.triton_problem(x.double())
    with pytest.raises(BackendUnavailableError, match="backend='torch'"):
        resolve(LINEAR_CHARGE_OP, "triton", x.double())
    assert resolve(LINEAR_CHARGE_OP, "auto", x.double()).backend != "triton"
    monkeypatch.delenv("TRITON_INTERPRET")
    message = availability.triton_problem(x)
    assert "CUDA tensors" in message and ".cuda()" in message and "TRITON_INTERPRET=1" in message
    assert resolve(LINEAR_CHARGE_OP, "auto", x).backend != "triton"
    monkeypatch.setattr(availability, "_INSTALLED", False)
    with pytest.raises(BackendUnavailableError, match=r'pip install "jelly-neurons\[triton\]"'):
        resolve(LINEAR_CHARGE_OP, "triton", x)


def test_check_declines_a_surrogate_given_as_context():
    x = torch.rand(2, 3)
    for op in (LINEAR_CHARGE_OP, QIF_OP, EIF_OP):
        with pytest.raises(BackendUnavailableError, match="PoissonPass has no Triton derivative"):
            resolve(op, "triton", x, surrogate_function=surrogates.PoissonPass())
        assert resolve(op, "auto", x, surrogate_function=surrogates.PoissonPass()).backend != "triton"
        assert resolve(op, "triton", x, surrogate_function=surrogates.ATan()).backend == "triton"


def test_importing_and_auto_on_cpu_do_not_import_triton():
    import subprocess

    code = (
        "import os, sys, torch; os.environ.pop('TRITON_INTERPRET', None)\n"
        "from jelly import neurons\n"
        "node = neurons.LIFNode(step_mode='m')\n"
        "node(torch.rand(3, 2))\n"
        "assert node.describe(torch.rand(3, 2)).backend != 'triton'\n"
        "assert 'triton' not in sys.modules, 'triton imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env)


def test_custom_op_passes_opcheck():
    from jelly.neurons.backends.triton import linear_charge_ops as ops

    torch.manual_seed(3)
    x = torch.randn(3, 2, 4, requires_grad=True)
    v0 = torch.randn(2, 4, requires_grad=True)
    k = torch.tensor(0.6, requires_grad=True)
    args = (x, v0, k, ops.KIND_CODES["plif"], 1.0, -0.2, True, 2.0, True, False, "ATan", [1.0, 3.14, 0.0], 0, True)
    torch.library.opcheck(ops.linear_charge_forward_op, args)


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`-wrapped function")
def test_torch_compile_traces_the_op_without_graph_breaks():
    torch.manual_seed(4)
    x = torch.rand(4, 2, 3) * 2
    node = neurons.ParametricLIFNode(step_mode="m", backend="triton")
    eager = neurons.ParametricLIFNode(step_mode="m", backend="torch")
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    spikes = torch.compile(node, fullgraph=True, backend="aot_eager")(xa)
    spikes_eager = eager(xb)
    assert torch.equal(spikes, spikes_eager)
    spikes.sum().backward()
    spikes_eager.sum().backward()
    close(xa.grad, xb.grad, 1e-5, "x.grad")
    close(node.w.grad, eager.w.grad, 1e-5, "w.grad")


def test_qif_eif_custom_op_passes_opcheck():
    from jelly.neurons.backends.triton import nonlinear_if_ops as ops

    torch.manual_seed(5)
    x = torch.randn(3, 2, 4, requires_grad=True)
    v0 = torch.rand(2, 4, requires_grad=True)
    # EIF (kind 1): tau, delta_T, c0..c2 = Δ_T, v_rest, θ_rh; soft reset; Sigmoid surrogate
    args = (x, v0, 1, 1.0, 0.0, False, 2.0, 0.8, 0.8, 0.0, 0.7, False, "Sigmoid", [4.0, 0.0, 0.0], 0, True)
    torch.library.opcheck(ops.nonlinear_if_forward_op, args)


def test_autocast_feeds_bfloat16_and_the_kernels_keep_it():
    """Under ``torch.autocast`` a Linear hands the neuron bfloat16; the Triton op runs in it (float32 inside)."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(12, 16)
    lif = neurons.LIFNode(tau=2.0, step_mode="m", backend="triton", surrogate_function=surrogates.ATan())
    x = torch.randn(5, 3, 12) * 2
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = linear(x)
        out = lif(y)
    assert y.dtype == out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert linear.weight.grad is not None and torch.isfinite(linear.weight.grad).all()
    lif_ref = neurons.LIFNode(tau=2.0, step_mode="m", backend="reference", surrogate_function=surrogates.ATan())
    assert torch.equal(out.float(), lif_ref(y.detach().float()))
