"""The ``triton`` backend of CUBA-LIF, CLIF and Izhikevich against the reference (CPU interpreter).

Triton and the kernels are imported in interpreter mode at collection time and an autouse
fixture sets ``TRITON_INTERPRET=1`` while these tests run (see ``test_triton_backend.py``).

Tolerances: float32 spikes exactly equal to the reference; float32 membranes and states
exactly equal for CUBA-LIF and Izhikevich (same operations in the same order), and to
``1e-6`` relative to the largest magnitude for CLIF: its ``sigmoid`` needs ``exp``, which
in Triton's CPU interpreter is NumPy's while PyTorch's CPU ``sigmoid`` uses its own
vectorised ``exp``, and the two differ in the last bit for a good share of inputs (measured
worst cases: 7.3e-8 relative in these tests, 1.5e-7 over 5 seeds of 16 x 64 elements).
float32 gradients to ``1e-5`` relative to the largest magnitude. float16/bfloat16 I/O is
compared with the reference run in float32 on the same rounded inputs: spikes exactly, the
rest to ``5e-3``/``3e-2`` relative (as for IF/LIF/PLIF; measured worst cases over 5 seeds:
0.53 and 0.74 of the tolerance, both for the Izhikevich soft-reset ``v_init`` gradient).
"""

import sys

import pytest
import torch

from jelly import neurons, surrogates
from jelly.neurons.backends import BackendUnavailableError, resolve
from jelly.neurons.backends.torch_cuba_clif import CLIF_OP, CUBA_LIF_OP
from jelly.neurons.backends.torch_izhikevich import IZHIKEVICH_OP
from jelly.neurons.backends.triton.interpreter import load_interpreted
from jelly.neurons.functional.cuba_lif import CUBALIFParams
from jelly.neurons.functional.izhikevich import IzhikevichParams

_WHY_NOT = load_interpreted()
if _WHY_NOT is not None:
    pytest.skip(_WHY_NOT, allow_module_level=True)
assert "triton" in sys.modules
torch.set_num_threads(1)

TOLERANCE = {torch.float32: 1e-5, torch.float16: 5e-3, torch.bfloat16: 3e-2}
#: CLIF float32 states: the interpreter's exp (NumPy) and PyTorch's CPU exp differ in the last bit.
CLIF_STATE_TOLERANCE = 1e-6


@pytest.fixture(autouse=True)
def interpreter(monkeypatch):
    """``TRITON_INTERPRET=1`` while a test of this module runs (the check accepts CPU tensors)."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def backend_fn(op, backend):
    return resolve(op, backend, torch.zeros(1)).fn


def close(actual, expected, rel, what):
    scale = max(float(expected.abs().max()), 1e-3)
    error = float((actual.float() - expected.float()).abs().max())
    assert error <= rel * scale, f"{what}: max error {error:.3g} > {rel:.1g} x {scale:.3g}"


# model -> (op, how to call it with (x, state0, state1, params, surrogate))
MODELS = {
    "cuba": (CUBA_LIF_OP, lambda fn, x, s0, s1, p, sg: fn(x, s0, s1, p, sg)),
    "clif": (CLIF_OP, lambda fn, x, s0, s1, p, sg: fn(x, s0, s1, *p, sg)),
    "izhikevich": (IZHIKEVICH_OP, lambda fn, x, s0, s1, p, sg: fn(x, s0, s1, p, sg)),
}


def run(model, backend, x, states, params, surrogate, out_grads):
    """Forward and backward; returns the three outputs and the gradients of ``x`` and both states."""
    op, call = MODELS[model]
    inputs = [t.detach().clone().requires_grad_() for t in (x, *states)]
    outputs = call(backend_fn(op, backend), *inputs, params, surrogate)
    loss = sum((out * g).sum() for out, g in zip(outputs, out_grads))
    grads = torch.autograd.grad(loss, inputs)
    return [out.detach() for out in outputs], grads


def initial_states(model, shape, dtype):
    v0 = torch.randn(shape) * 0.5
    other = torch.rand(shape) * 1.5 if model == "clif" else torch.randn(shape) * 0.3
    if model == "clif":
        return [v0.to(dtype), other.to(dtype)]  # (v_init, m_init)
    if model == "cuba":
        return [other.to(dtype), v0.to(dtype)]  # (c_init, v_init)
    return [v0.to(dtype), other.to(dtype)]  # (v_init, w_init)


def compare(model, params, surrogate, dtype=torch.float32, shape=(6, 3, 7), seed=0, scale=1.0, shift=0.5):
    """Triton (I/O in ``dtype``) against the float32 reference on the same rounded inputs."""
    torch.manual_seed(seed)
    x = (torch.randn(shape) * scale + shift).to(dtype)
    states = initial_states(model, shape[1:], dtype)
    third_shape = shape if model == "clif" else shape[1:]
    out_grads = [torch.randn(shape).to(dtype), torch.randn(shape).to(dtype), torch.randn(third_shape).to(dtype)]
    outs, grads = run(model, "triton", x, states, params, surrogate, out_grads)
    outs_ref, grads_ref = run(model, "reference", x.float(), [s.float() for s in states], params, surrogate,
                              [g.float() for g in out_grads])
    assert all(t.dtype == dtype for t in (*outs, *grads))
    spikes, spikes_ref = outs[0], outs_ref[0]
    assert torch.equal(spikes.float(), spikes_ref), "spikes differ"
    assert 0 < spikes_ref.sum() < spikes_ref.numel(), "the case should have both spikes and silence"
    for name, out, ref in zip(("v_seq", "third state"), outs[1:], outs_ref[1:]):
        if dtype != torch.float32:
            close(out, ref, TOLERANCE[dtype], name)
        elif model == "clif":
            close(out, ref, CLIF_STATE_TOLERANCE, name)
        else:
            assert torch.equal(out, ref), f"{name} differs"
    for name, grad, ref in zip(("grad_x", "grad_state0", "grad_state1"), grads, grads_ref):
        assert ref.abs().max() > 0, f"{name} of the reference is zero: the case cannot fail"
        close(grad, ref, TOLERANCE[dtype], name)


RESETS = {"hard0": 0.0, "hard": -0.3, "soft": None}
SURROGATES = [
    surrogates.ATan(),
    surrogates.Sigmoid(alpha=3.0),
    surrogates.SquarewaveFourierSeries(n=3, T_period=6.0),
    surrogates.PiecewiseLeakyReLU(w=0.7, c=0.05),
    surrogates.Rect(alpha=1.0),
]


def cuba_params(reset="hard", detach_reset=False):
    return CUBALIFParams(c_decay=0.6, v_decay=0.7, v_threshold=0.8, v_reset=RESETS[reset], detach_reset=detach_reset)


def izhikevich_params(reset="hard", detach_reset=False, a=0.3, b=0.2):
    return IzhikevichParams(tau=2.0, v_c=0.8, a0=1.0, v_threshold=1.0, v_reset=RESETS[reset], v_rest=-0.1,
                            tau_w=3.0, a=a, b=b, detach_reset=detach_reset)


@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("reset", list(RESETS))
def test_cuba_lif_float32_matches_reference(reset, detach_reset):
    compare("cuba", cuba_params(reset, detach_reset), surrogates.ATan())


@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("reset", list(RESETS))
def test_izhikevich_float32_matches_reference(reset, detach_reset):
    compare("izhikevich", izhikevich_params(reset, detach_reset), surrogates.ATan(), scale=1.0, shift=0.8)


def test_izhikevich_without_adaptation_matches_reference():
    # a = b = 0: w only decays (the SpikingJelly defaults)
    compare("izhikevich", izhikevich_params("hard", a=0.0, b=0.0), surrogates.Sigmoid(), shift=0.8)


def test_izhikevich_detach_reset_also_detaches_the_jump():
    # With b != 0, detach_reset changes the gradient through w (the b σ term); both match the reference.
    torch.manual_seed(7)
    x, states = torch.randn(5, 11) + 0.8, initial_states("izhikevich", (11,), torch.float32)
    out_grads = [torch.zeros(5, 11), torch.zeros(5, 11), torch.randn(11)]
    grads = {}
    for detach in (False, True):
        params = izhikevich_params("soft", detach, a=0.0, b=0.5)
        (_, g_x, _), (_, g_ref, _) = (run("izhikevich", b, x, states, params, surrogates.ATan(), out_grads)[1]
                                      for b in ("triton", "reference"))
        close(g_x, g_ref, 1e-5, f"grad_x detach_reset={detach}")
        grads[detach] = g_x
    assert not torch.allclose(grads[False], grads[True])


@pytest.mark.parametrize(("tau", "v_threshold", "seed"), [(2.0, 1.0, 0), (3.5, 0.6, 1)])
def test_clif_float32_matches_reference(tau, v_threshold, seed):
    compare("clif", (tau, v_threshold), surrogates.ATan(), seed=seed, scale=1.5)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("model", list(MODELS))
def test_surrogates_match_reference(model, surrogate):
    params = {"cuba": cuba_params("soft"), "clif": (2.0, 1.0), "izhikevich": izhikevich_params("hard")}[model]
    compare(model, params, surrogate, shape=(4, 13), seed=3, scale=1.5, shift=0.6)


@pytest.mark.parametrize(("model", "shape"), [("cuba", (1, 5)), ("clif", (1, 5)), ("izhikevich", (1, 6)),
                                              ("cuba", (3, 2, 3, 5)), ("clif", (7, 9)), ("izhikevich", (5, 3, 3))])
def test_odd_shapes_and_single_step(model, shape):
    params = {"cuba": cuba_params("hard"), "clif": (2.0, 1.0), "izhikevich": izhikevich_params("soft")}[model]
    compare(model, params, surrogates.Sigmoid(), shape=shape, seed=11, scale=1.5, shift=0.9)


@pytest.mark.parametrize("model", list(MODELS))
def test_many_programs(model, monkeypatch):
    from jelly.neurons.backends.triton import launch

    monkeypatch.setattr(launch, "_BLOCK_INTERPRETER", 16)
    assert launch.block_size(70, torch.device("cpu")) == 16
    params = {"cuba": cuba_params("hard"), "clif": (2.0, 1.0), "izhikevich": izhikevich_params("hard")}[model]
    compare(model, params, surrogates.ATan(), shape=(3, 70), seed=5)


HALF_CASES = [
    ("cuba", "hard"), ("cuba", "soft"), ("izhikevich", "hard"), ("izhikevich", "soft"), ("clif", "soft"),
]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize(("model", "reset"), HALF_CASES)
def test_half_precision_matches_float32_reference(model, reset, dtype):
    params = {"cuba": cuba_params(reset), "clif": (2.0, 1.0), "izhikevich": izhikevich_params(reset)}[model]
    compare(model, params, surrogates.Sigmoid(), dtype=dtype, shape=(5, 24), seed=2, shift=0.8)


def test_half_saved_membrane_keeps_the_forward_spike():
    # CUBA-LIF with c_decay = 0, v_decay = 1 is h = v + x: h lies within half a float16 step
    # of the threshold, on the other side of the float16 value nearest to it; the saved h
    # must keep the forward's spike so that the backward uses the right reset derivative.
    for v_threshold, x_value, fired in ((0.3, 0.04995, False), (0.3001, 0.05012, True)):
        h = torch.tensor(0.25) + torch.tensor(x_value).half().float()
        assert (float(h) >= v_threshold) == fired
        assert (float(h.half()) >= float(torch.tensor(v_threshold))) != fired
        params = CUBALIFParams(c_decay=0.0, v_decay=1.0, v_threshold=v_threshold, v_reset=0.0)
        x = torch.full((1, 1), x_value, dtype=torch.float16)
        states = [torch.zeros(1, dtype=torch.float16), torch.full((1,), 0.25, dtype=torch.float16)]
        out_grads = [torch.zeros(1, 1, dtype=torch.float16), torch.ones(1, 1, dtype=torch.float16),
                     torch.zeros(1, dtype=torch.float16)]
        (s, _, _), (grad_x, _, _) = run("cuba", "triton", x, states, params, surrogates.DeterministicPass(),
                                        out_grads)
        assert bool(s[0, 0]) == fired
        assert float(grad_x[0, 0]) == pytest.approx((0.0 if fired else 1.0) - float(h), rel=2e-3)


def test_inference_and_partial_gradients():
    torch.manual_seed(9)
    x = (torch.randn(4, 6, 3) * 1.5 + 0.5).transpose(1, 2)  # not contiguous
    cases = [("cuba", cuba_params("hard")), ("clif", (2.0, 1.0)), ("izhikevich", izhikevich_params("soft"))]
    for model, params in cases:
        op, call = MODELS[model]
        states = initial_states(model, (4, 3, 6)[1:], torch.float32)
        with torch.no_grad():
            outs = call(backend_fn(op, "triton"), x, *states, params, surrogates.Sigmoid())
        refs = call(backend_fn(op, "reference"), x, *states, params, surrogates.Sigmoid())
        assert torch.equal(outs[0], refs[0])
        close(outs[1], refs[1].detach(), CLIF_STATE_TOLERANCE if model == "clif" else 0.0, f"{model} v_seq")
        # only the spikes reach the loss (the other output gradients are None), one state needs grad
        grads = []
        for backend in ("triton", "reference"):
            xa = x.clone().requires_grad_()
            s0 = states[0].clone().requires_grad_()
            call(backend_fn(op, backend), xa, s0, states[1], params, surrogates.Sigmoid())[0].sum().backward()
            grads.append((xa.grad, s0.grad))
        for name, a, b in zip(("x.grad", "state0.grad"), *grads):
            close(a, b, 1e-5, f"{model} {name} through spikes only")


def test_empty_sequence():
    x = torch.zeros(0, 3)
    c0, v0 = torch.rand(3), torch.rand(3)
    s, v, c = backend_fn(CUBA_LIF_OP, "triton")(x, c0, v0, cuba_params(), surrogates.ATan())
    assert s.shape == v.shape == (0, 3) and torch.equal(c, c0)
    s, v, w = backend_fn(IZHIKEVICH_OP, "triton")(x, v0, c0, izhikevich_params(), surrogates.ATan())
    assert s.shape == (0, 3) and torch.equal(w, c0)
    s, v, m = backend_fn(CLIF_OP, "triton")(x, v0, c0, 2.0, 1.0, surrogates.ATan())
    assert s.shape == v.shape == m.shape == (0, 3)


MODULE_CASES = [
    ("cuba", lambda b: neurons.CUBALIFNode(step_mode="m", backend=b), ("c",)),
    ("cuba_soft_detach", lambda b: neurons.CUBALIFNode(v_reset=None, detach_reset=True, step_mode="m", backend=b),
     ("c",)),
    ("clif", lambda b: neurons.ComplementaryLIFNode(step_mode="m", backend=b, surrogate_function=surrogates.ATan()),
     ("m",)),
    ("izhikevich", lambda b: neurons.IzhikevichNode(a=0.2, b=0.3, v_reset=-0.1, step_mode="m", backend=b,
                                                    surrogate_function=surrogates.ATan()), ("w",)),
]


@pytest.mark.parametrize(("name", "make", "extras"), MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_modules_with_triton_backend_match_reference(name, make, extras):
    torch.manual_seed(1)
    x = torch.randn(2, 5, 4, 5) * 0.8 + 0.4
    fast, slow = make("triton"), make("reference")
    assert fast.describe(x[0]).backend == "triton"
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    losses = []
    for node, inputs in ((fast, xa), (slow, xb)):
        first = node(inputs[0])
        second = node(inputs[1])  # starts from the states the first call left
        weights = torch.arange(first.numel()).reshape(first.shape) / first.numel()
        loss = (first * weights).sum() + (second * weights.flip(0)).sum() + node.v.sum()
        losses.append(loss + sum(getattr(node, e).sum() * 0.5 for e in extras))
        node.outputs = (first, second)
    for a, b in zip(fast.outputs, slow.outputs):
        assert torch.equal(a, b)
        assert 0 < b.sum() < b.numel()
    state_tolerance = CLIF_STATE_TOLERANCE if name == "clif" else 0.0
    for state in ("v", *extras):
        close(getattr(fast, state).detach(), getattr(slow, state).detach(), state_tolerance, state)
    losses[0].backward()
    losses[1].backward()
    close(xa.grad, xb.grad, 1e-5, "x.grad")


def test_custom_ops_pass_opcheck():
    from jelly.neurons.backends.triton import cuba_clif_ops, izhikevich_ops

    torch.manual_seed(3)

    def tensors(*shapes):
        return [torch.randn(shape, requires_grad=True) for shape in shapes]

    x, c0, v0 = tensors((3, 2, 4), (2, 4), (2, 4))
    sg = ("ATan", [1.0, 3.14, 0.0], 0)
    torch.library.opcheck(cuba_clif_ops.cuba_lif_forward_op,
                          (x, c0, v0, 0.5, 0.75, 0.5, -0.2, True, False, *sg, True))
    torch.library.opcheck(cuba_clif_ops.clif_forward_op, (x, v0, c0.detach().abs().requires_grad_(), 2.0, 0.5, *sg,
                                                          True))
    torch.library.opcheck(izhikevich_ops.izhikevich_forward_op,
                          (x, v0, c0, 2.0, 0.8, 1.0, 0.5, 0.0, True, -0.1, 2.0, 0.3, 0.2, False, *sg, True))


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`-wrapped function")
def test_torch_compile_traces_the_ops_without_graph_breaks():
    from jelly.neurons.backends.triton import cuba_clif_ops, izhikevich_ops

    torch.manual_seed(4)
    x = torch.rand(4, 2, 3) * 2
    s0, s1 = torch.rand(2, 3) * 0.3, torch.rand(2, 3) * 0.3
    sg = surrogates.ATan()
    functions = [
        lambda x, a, b: cuba_clif_ops.cuba_lif_multistep_triton(x, a, b, cuba_params("soft"), sg),
        lambda x, a, b: cuba_clif_ops.clif_multistep_triton(x, a, b, 2.0, 1.0, sg),
        lambda x, a, b: izhikevich_ops.izhikevich_multistep_triton(x, a, b, izhikevich_params("hard"), sg),
    ]
    for fn in functions:
        compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
        results = []
        for f in (compiled, fn):
            inputs = [t.clone().requires_grad_() for t in (x, s0, s1)]
            outs = f(*inputs)
            sum((o * (i + 1)).sum() for i, o in enumerate(outs)).backward()
            results.append(([o.detach() for o in outs], [t.grad for t in inputs]))
        (outs_c, grads_c), (outs_e, grads_e) = results
        for a, b in zip(outs_c, outs_e):
            assert torch.equal(a, b)
        for a, b in zip(grads_c, grads_e):
            close(a, b, 1e-6, "grad")


def test_unsupported_surrogates_and_arguments_raise_clearly():
    x, state = torch.rand(2, 3), torch.zeros(3)

    class Custom(surrogates.ATan):
        pass

    for model, params in (("cuba", cuba_params()), ("clif", (2.0, 1.0)), ("izhikevich", izhikevich_params())):
        op, call = MODELS[model]
        fn = backend_fn(op, "triton")
        with pytest.raises(BackendUnavailableError, match="PoissonPass has no Triton derivative.*backend='torch'"):
            call(fn, x, state, state, params, surrogates.PoissonPass())
        with pytest.raises(BackendUnavailableError, match="Custom has no Triton derivative"):
            call(fn, x, state, state, params, Custom())
        with pytest.raises(BackendUnavailableError, match="primitive mode"):
            call(fn, x, state, state, params, surrogates.ATan(spiking=False))
        with pytest.raises(ValueError, match="does not match one step of x_seq"):
            call(fn, x, state, torch.zeros(4), params, surrogates.ATan())
        with pytest.raises(ValueError, match=r"x_seq must be \[T, N, \*\]"):
            call(fn, torch.zeros(3), torch.zeros(()), torch.zeros(()), params, surrogates.ATan())
        with pytest.raises(BackendUnavailableError, match="PoissonPass has no Triton derivative"):
            resolve(op, "triton", x, surrogate_function=surrogates.PoissonPass())
        assert resolve(op, "auto", x, surrogate_function=surrogates.PoissonPass()).backend != "triton"
        assert resolve(op, "triton", x, surrogate_function=surrogates.ATan()).backend == "triton"
        with pytest.raises(BackendUnavailableError, match="float64"):
            call(fn, x.double(), state.double(), state.double(), params, surrogates.ATan())
