"""The Triton GLIF kernels against the reference, on CPU under Triton's interpreter.

Same set-up as ``test_triton_backend.py``: Triton and the kernels load in interpreter mode
at collection time, an autouse fixture sets ``TRITON_INTERPRET=1`` while these tests run,
and the module is skipped when that is impossible (Triton missing or a GPU present).

Tolerances: float32 spikes and membranes exactly equal to the reference (same operations in
the same order); float32 gradients (``x``, ``u_init``, ``spike_init``, the seven gates and
the conductances) to ``1e-5`` relative to the largest magnitude (the kernels sum in another
order). float16/bfloat16 I/O is compared with the float32 reference on the same rounded
inputs and gates: spikes exactly, membranes and gradients to ``5e-3``/``3e-2`` relative.

GLIF has no reset option (no ``v_reset``, ``detach_reset``): its reset is the learned mix of
``γ`` (multiplicative, "hard"-like when ``γ → 1``) and ``v_sr`` (subtractive, "soft"-like
when ``γ → 0``), so the cases sweep ``γ`` and include initial spikes (a reset at ``t = 0``).
"""

import sys

import pytest
import torch

from jelly import neurons, surrogates
from jelly.neurons.backends import BackendUnavailableError, resolve
from jelly.neurons.backends.triton.interpreter import load_interpreted
from jelly.neurons.functional.gated_lif import GLIFGates

_WHY_NOT = load_interpreted()
if _WHY_NOT is not None:
    pytest.skip(_WHY_NOT, allow_module_level=True)
assert "triton" in sys.modules
torch.set_num_threads(1)

OP = "gated_lif_multistep"
TOLERANCE = {torch.float32: 1e-5, torch.float16: 5e-3, torch.bfloat16: 3e-2}
GRAD_NAMES = ("x", "u_init", "spike_init", *GLIFGates._fields, "conduct")


@pytest.fixture(autouse=True)
def interpreter(monkeypatch):
    """``TRITON_INTERPRET=1`` while a test of this module runs (the check accepts CPU tensors)."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def triton_fn():
    return resolve(OP, "triton", torch.zeros(1)).fn


def reference_fn():
    return resolve(OP, "reference", torch.zeros(1)).fn


def close(actual, expected, rel, what):
    scale = max(float(expected.abs().max()), 1e-3)
    error = float((actual.float() - expected.float()).abs().max())
    assert error <= rel * scale, f"{what}: max error {error:.3g} > {rel:.1g} x {scale:.3g}"


def make_case(shape, channel_wise, dtype=torch.float32, seed=0, gamma=(0.1, 0.9), layouts=None):
    """Random inputs, states, gates (in ``(0, 1)``) and gradients of the outputs, rounded to ``dtype``.

    ``layouts`` optionally gives, per gate (and last the conductance), ``True`` for one value
    per channel and ``False`` for a scalar; by default all follow ``channel_wise``.
    """
    torch.manual_seed(seed)
    steps, step = shape[0], shape[1:]
    layouts = layouts or [channel_wise] * 8
    channel_shape = (step[1],) + (1,) * (len(step) - 2) if len(step) >= 2 else ()

    def gate(low, high, per_channel, lead=()):
        size = lead + (channel_shape if per_channel else ())
        return (torch.rand(size) * (high - low) + low).to(dtype)

    ranges = [(0.1, 0.9), (0.1, 0.9), gamma, (0.1, 0.9), (0.3, 0.7), (0.05, 0.3), (0.1, 0.9)]
    gates = [gate(lo, hi, per) for (lo, hi), per in zip(ranges, layouts)]
    conduct = gate(0.1, 0.9, layouts[7], (steps,))
    x = (torch.randn(shape) * 1.2 + 0.35).to(dtype)
    u0 = (torch.randn(step) * 0.4).to(dtype)
    s0 = (torch.rand(step) < 0.4).to(dtype)
    grad_s, grad_u = torch.randn(shape).to(dtype), torch.randn(shape).to(dtype)
    return (x, u0, s0, gates, conduct), (grad_s, grad_u)


def run(fn, inputs, out_grads, surrogate, cast=None):
    """Forward and backward of ``fn`` (inputs cast to ``cast`` first); returns spikes, membranes, grads."""
    x, u0, s0, gates, conduct = inputs
    leaves = [t.detach().clone().to(cast or t.dtype).requires_grad_() for t in (x, u0, s0, *gates, conduct)]
    spike, u = fn(leaves[0], leaves[1], leaves[2], GLIFGates(*leaves[3:10]), leaves[10], surrogate)
    grad_s, grad_u = (g.to(cast or g.dtype) for g in out_grads)
    grads = torch.autograd.grad((spike * grad_s).sum() + (u * grad_u).sum(), leaves)
    return spike.detach(), u.detach(), grads


def compare(shape, channel_wise, surrogate, dtype=torch.float32, **case):
    inputs, out_grads = make_case(shape, channel_wise, dtype, **case)
    s, u, g = run(triton_fn(), inputs, out_grads, surrogate)
    s_ref, u_ref, g_ref = run(reference_fn(), inputs, out_grads, surrogate, cast=torch.float32)
    assert s.dtype == u.dtype == g[0].dtype == dtype
    assert torch.equal(s.float(), s_ref), "spikes differ"
    assert 0 < s_ref.sum() < s_ref.numel(), "the case should have both spikes and silence"
    if dtype == torch.float32:
        assert torch.equal(u, u_ref), "membranes differ"
    else:
        close(u, u_ref, TOLERANCE[dtype], "u_seq")
    for name, a, b, leaf in zip(GRAD_NAMES, g, g_ref, (inputs[0], inputs[1], inputs[2], *inputs[3], inputs[4])):
        assert a.shape == leaf.shape and a.dtype == leaf.dtype, name
        close(a, b, TOLERANCE[dtype], f"grad_{name}")


SHAPES = {
    "conv": (5, 3, 4, 2, 3),  # [T, N, C, H, W]
    "linear": (4, 6, 5),  # [T, N, C], inner = 1
    "T1": (1, 7, 3, 5),
    "odd": (3, 5, 3, 7),
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("channel_wise", [True, False], ids=["channel", "layer"])
def test_float32_matches_reference(shape, channel_wise):
    compare(shape, channel_wise, surrogates.ATan(), seed=len(shape) + shape[0])


@pytest.mark.parametrize(("name", "gamma"), [("multiplicative", (0.85, 0.99)), ("subtractive", (0.01, 0.15))])
@pytest.mark.parametrize("surrogate", [surrogates.Sigmoid(), surrogates.ATan(alpha=3.0),
                                       surrogates.SquarewaveFourierSeries(n=4, T_period=6.0),
                                       surrogates.PiecewiseLeakyReLU(w=0.7, c=0.05)], ids=lambda s: type(s).__name__)
def test_reset_styles_and_surrogates_match_reference(surrogate, name, gamma):
    compare((6, 4, 3, 5), True, surrogate, gamma=gamma, seed=11)


def test_layer_wise_one_dimensional_and_scalar_steps():
    compare((6, 13), False, surrogates.Sigmoid(), seed=3)
    compare((30,), False, surrogates.Sigmoid(), seed=4)  # a step is one 0-d value


def test_mixed_scalar_and_channel_gates():
    # only some gates (and the conductance) per channel; the layer-wise ones get summed gradients
    compare((4, 3, 5, 2), True, surrogates.ATan(), layouts=[True, False, True, False, True, False, False, True])
    compare((4, 3, 5, 2), True, surrogates.ATan(), layouts=[False, True, False, True, False, True, True, False])


def test_many_programs_along_positions_and_channels(monkeypatch):
    from jelly.neurons.backends.triton import gated_lif_ops, launch

    monkeypatch.setattr(launch, "_BLOCK_INTERPRETER", 16)
    assert gated_lif_ops.tile_shape(6 * 1, 37, 1, torch.device("cpu")) == (1, 16)
    assert gated_lif_ops.tile_shape(5 * 40, 3, 40, torch.device("cpu")) == (16, 1)
    assert gated_lif_ops.tile_shape(7 * 6, 4, 6, torch.device("cpu")) == (4, 4)
    compare((3, 6, 37), True, surrogates.ATan(), seed=5)  # 3 channel blocks, 6 position blocks
    compare((3, 5, 3, 40), True, surrogates.ATan(), seed=6)  # one channel per program
    compare((3, 7, 4, 2, 3), True, surrogates.ATan(), seed=7)
    compare((3, 50), False, surrogates.ATan(), seed=8)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("channel_wise", [True, False], ids=["channel", "layer"])
def test_half_precision_matches_float32_reference(dtype, channel_wise):
    compare((5, 4, 3, 6), channel_wise, surrogates.Sigmoid(), dtype=dtype, seed=9)


def test_half_membrane_that_rounds_onto_the_threshold_keeps_the_forward_spike():
    # u[0] = x - (1 - α) ld = 0.5 - 2^-13 lies halfway between the float16 values 0.5 - 2^-12
    # and 0.5 = v_th and rounds (to even) onto the threshold: stored naively, the backward
    # would recompute s[0] = 1 and use p[1] = 1 - γ = 0.5 instead of 1.
    half = torch.float16
    one = torch.ones((), dtype=half)
    gates = GLIFGates(0.5 * one, 0 * one, 0.5 * one, 0.5 * one, 0.5 * one, 2.0**-12 * one, 0.5 * one)
    x = torch.tensor([[0.5], [0.0]], dtype=half)
    zero = torch.zeros(1, dtype=half)
    inputs = (x, zero, zero, list(gates), torch.full((2,), 0.5, dtype=half))
    out_grads = (torch.zeros(2, 1, dtype=half), torch.tensor([[0.0], [1.0]], dtype=half))
    s, u, g = run(triton_fn(), inputs, out_grads, surrogates.DeterministicPass())
    assert float(s[0, 0]) == 0.0 and float(u[0, 0]) == 0.5 - 2.0**-12
    _, u_ref, g_ref = run(reference_fn(), inputs, out_grads, surrogates.DeterministicPass(), cast=torch.float32)
    assert float(u_ref[0, 0]) == 0.5 - 2.0**-13 and float(u_ref[0, 0].half()) == 0.5
    for name, a, b in zip(GRAD_NAMES, g, g_ref):
        close(a, b, TOLERANCE[half], f"grad_{name}")


def _module_pair(inplane, **kwargs):
    torch.manual_seed(12)
    fast = neurons.GatedLIFNode(T=5, inplane=inplane, step_mode="m", backend="triton", **kwargs)
    slow = neurons.GatedLIFNode(T=5, inplane=inplane, step_mode="m", backend="reference", **kwargs)
    slow.load_state_dict(fast.state_dict())
    return fast, slow


@pytest.mark.parametrize("inplane", [None, 3])
def test_module_with_triton_backend_matches_reference(inplane):
    fast, slow = _module_pair(inplane, init_v_threshold=0.4)
    torch.manual_seed(13)
    x = torch.rand(5, 4, 3, 2, 2) * 1.5 - 0.2
    assert fast.describe(x).backend == "triton"
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    # two calls (3 then 2 steps): the spike, membrane and step count carry over
    sa = torch.cat([fast(xa[:3]), fast(xa[3:])])
    sb = torch.cat([slow(xb[:3]), slow(xb[3:])])
    assert torch.equal(sa, sb) and torch.equal(fast.v, slow.v)
    assert 0 < sb.sum() < sb.numel()
    weights = torch.randn(sa.shape)
    ((sa * weights).sum() + fast.v.sum()).backward()
    ((sb * weights).sum() + slow.v.sum()).backward()
    close(xa.grad, xb.grad, 1e-5, "x.grad")
    for (name, pa), pb in zip(fast.named_parameters(), slow.parameters()):
        assert pa.grad is not None, name
        close(pa.grad, pb.grad, 1e-5, f"{name}.grad")


def test_inference_and_non_contiguous_input():
    inputs, _ = make_case((4, 5, 3, 2), True, seed=14)
    x = inputs[0].transpose(1, 3).contiguous().transpose(1, 3)  # same values, not contiguous
    assert not x.is_contiguous()
    with torch.no_grad():
        s, u = triton_fn()(x, *inputs[1:3], GLIFGates(*inputs[3]), inputs[4], surrogates.ATan())
    s_ref, u_ref = reference_fn()(x, *inputs[1:3], GLIFGates(*inputs[3]), inputs[4], surrogates.ATan())
    assert torch.equal(s, s_ref) and torch.equal(u, u_ref)
    assert 0 < s.sum() < s.numel()


def test_broadcast_initial_state_and_longer_conductance():
    # scalar initial states broadcast to a step; conduct_seq longer than T (the first T are used)
    inputs, out_grads = make_case((3, 4, 2, 3), True, seed=15)
    x, _, _, gates, conduct = inputs
    longer = torch.cat([conduct, torch.rand(2, *conduct.shape[1:])])
    states = (torch.tensor(0.3), torch.tensor(1.0))
    s, u, g = run(triton_fn(), (x, *states, gates, longer), out_grads, surrogates.ATan())
    s_ref, u_ref, g_ref = run(reference_fn(), (x, *states, gates, longer), out_grads, surrogates.ATan())
    assert torch.equal(s, s_ref) and torch.equal(u, u_ref)
    assert 0 < s.sum() < s.numel()
    for name, a, b in zip(GRAD_NAMES, g, g_ref):
        close(a, b, 1e-5, f"grad_{name}")
    assert g[-1][3:].abs().sum() == 0


def test_unsupported_surrogates_shapes_and_arguments_raise_clearly():
    (x, u0, s0, gates, conduct), _ = make_case((2, 3, 4), True)
    gates = GLIFGates(*gates)
    fn = triton_fn()
    with pytest.raises(BackendUnavailableError, match="PoissonPass has no Triton derivative.*backend='torch'"):
        fn(x, u0, s0, gates, conduct, surrogates.PoissonPass())

    class Custom(surrogates.ATan):
        pass

    with pytest.raises(BackendUnavailableError, match="Custom has no Triton derivative"):
        fn(x, u0, s0, gates, conduct, Custom())
    per_element = gates._replace(tau=torch.rand(3, 4))
    with pytest.raises(BackendUnavailableError, match=r"tau of shape \(3, 4\).*backend='torch'"):
        fn(x, u0, s0, per_element, conduct, surrogates.ATan())
    with pytest.raises(BackendUnavailableError, match=r"conduct_seq\[t\] of shape \(3,\)"):
        fn(x, u0, s0, gates, torch.rand(2, 3), surrogates.ATan())
    with pytest.raises(ValueError, match="u_init of shape"):
        fn(x, torch.zeros(4, 4), s0, gates, conduct, surrogates.ATan())
    with pytest.raises(ValueError, match="conduct_seq of shape"):
        fn(x, u0, s0, gates, conduct[:1], surrogates.ATan())
    with pytest.raises(ValueError, match="7 GLIFGates"):
        fn(x, u0, s0, tuple(gates)[:6], conduct, surrogates.ATan())
    with pytest.raises(BackendUnavailableError, match="primitive mode"):
        resolve(OP, "triton", x, surrogate_function=surrogates.ATan(spiking=False))


def test_custom_ops_pass_opcheck():
    from jelly.neurons.backends.triton import gated_lif_ops as ops

    torch.manual_seed(16)
    x = torch.randn(3, 2, 3, 2, requires_grad=True)
    u0 = torch.randn(2, 3, 2, requires_grad=True)
    s0 = (torch.rand(2, 3, 2) < 0.5).float().requires_grad_()
    gates = (torch.rand(7, 3) * 0.8 + 0.1).requires_grad_()
    conduct = torch.rand(3, 3, requires_grad=True)
    sg = ("ATan", [1.0, 3.14, 0.0], 0)
    torch.library.opcheck(ops.gated_lif_forward_op, (x, u0, s0, gates, conduct, *sg))
    grads = (torch.randn(3, 2, 3, 2), torch.randn(3, 2, 3, 2))
    with torch.no_grad():
        u_seq = ops.gated_lif_forward_op(x, u0, s0, gates, conduct, *sg)[1]
    torch.library.opcheck(ops.gated_lif_backward_op, (*grads, x.detach(), u_seq, u0.detach(), s0.detach(),
                                                       gates.detach(), conduct.detach(), *sg))


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`-wrapped function")
def test_torch_compile_traces_the_op_without_graph_breaks():
    # The op function itself (the registry's lazy loader in front of it calls importlib,
    # which Dynamo does not trace), with the module's gates: sigmoid, reshape, cast and the
    # custom op in one graph.
    from jelly.neurons.backends.triton.gated_lif_ops import gated_lif_multistep_triton

    fast, slow = _module_pair(3)

    def glif(node, backend_fn, x):
        u0, s0 = torch.zeros_like(x[0]), torch.zeros_like(x[0])
        return backend_fn(x, u0, s0, node._gates(x[0]), node._view(node.conduct, x[0]), node.surrogate_function)

    torch.manual_seed(17)
    x = torch.rand(5, 2, 3, 4) * 1.5
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    spikes, u = torch.compile(glif, fullgraph=True, backend="aot_eager")(fast, gated_lif_multistep_triton, xa)
    spikes_eager, u_eager = glif(slow, reference_fn(), xb)
    assert torch.equal(spikes, spikes_eager) and torch.equal(u, u_eager)
    assert 0 < spikes.sum() < spikes.numel()
    (spikes.sum() + u.sum()).backward()
    (spikes_eager.sum() + u_eager.sum()).backward()
    close(xa.grad, xb.grad, 1e-5, "x.grad")
    for (name, pa), pb in zip(fast.named_parameters(), slow.parameters()):
        close(pa.grad, pb.grad, 1e-5, f"{name}.grad")
