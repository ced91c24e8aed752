"""Recurrent zoo neurons: single == multi step, fused ``torch`` == reference, gradcheck.

Models: QIF, EIF, Izhikevich, KLIF (both reset scalings), LIAF (two activations),
CUBA-LIF, CLIF, non-spiking IF/LIF and Gated LIF (reference backend only).
"""

import itertools

import pytest
import torch

from jelly import neurons, surrogates
from jelly.core import functional
from jelly.surrogates.piecewise import Rect

SURROGATES = [surrogates.ATan, surrogates.Sigmoid]


def _liaf(act, tr):
    return lambda **kw: neurons.LIAFNode(act, tr, tau=2.5, **kw)


# name: (factory(**kw), v_resets, detach options, extra state names, input scale, input shift)
ZOO = {
    "qif": (lambda **kw: neurons.QIFNode(tau=2.0, **kw), [-0.1, None], [False, True], (), 0.8, 0.3),
    "eif": (lambda **kw: neurons.EIFNode(tau=3.0, delta_T=0.7, **kw), [-0.1, None], [False, True], (), 1.0, 0.4),
    "izhikevich": (
        lambda **kw: neurons.IzhikevichNode(tau=2.0, tau_w=3.0, a=0.3, b=0.2, **kw),
        [0.0, None], [False, True], ("w",), 0.9, 0.5,
    ),
    "klif": (lambda **kw: neurons.KLIFNode(False, tau=2.0, **kw), [0.0, None], [False, True], (), 1.2, 0.5),
    "klif_scale": (lambda **kw: neurons.KLIFNode(True, tau=2.0, **kw), [0.0, None], [False, True], (), 1.2, 0.5),
    "liaf_tanh_tr": (_liaf(torch.tanh, True), [0.0, None], [False, True], (), 1.2, 0.5),
    "liaf_sigmoid": (_liaf(torch.nn.Sigmoid(), False), [0.0, None], [False, True], (), 1.2, 0.5),
    "cuba": (lambda **kw: neurons.CUBALIFNode(c_decay=0.6, v_decay=0.7, **kw), [0.0, None], [False, True], ("c",),
             0.5, 0.1),
    "clif": (lambda **kw: neurons.ComplementaryLIFNode(tau=2.0, **kw), [None], [False], ("m",), 1.2, 0.5),
}
NON_SPIKING = {
    "nsif": lambda **kw: neurons.NonSpikingIFNode(**kw),
    "nslif": lambda **kw: neurons.NonSpikingLIFNode(tau=3.0, **kw),
}


def make(name, v_reset, detach_reset, surrogate, **kw):
    factory = ZOO[name][0]
    args = dict(surrogate_function=surrogate(), **kw)
    if name != "clif":
        args.update(v_reset=v_reset, detach_reset=detach_reset)
    node = factory(**args)
    if name.startswith("klif"):
        with torch.no_grad():
            node.k.fill_(1.3)
    return node


CASES = [
    (name, v_reset, detach, surrogate)
    for name, spec in ZOO.items()
    for v_reset, detach, surrogate in itertools.product(spec[1], spec[2], SURROGATES)
]


def _inputs(name, shape, seed, dtype=torch.float32):
    torch.manual_seed(seed)
    scale, shift = ZOO[name][4], ZOO[name][5]
    return torch.randn(*shape, dtype=dtype) * scale + shift


@pytest.mark.parametrize("name, v_reset, detach_reset, surrogate", CASES)
@pytest.mark.parametrize("shape", [(9, 4), (5, 2, 3, 4)])
def test_single_step_loop_equals_multi_step(name, v_reset, detach_reset, surrogate, shape):
    x_seq = _inputs(name, shape, 1)
    single = make(name, v_reset, detach_reset, surrogate)
    multi = make(name, v_reset, detach_reset, surrogate, step_mode="m")
    out_single = torch.stack([single(x) for x in x_seq])
    out_multi = multi(x_seq)
    assert multi.describe(x_seq).backend == "torch"
    if name.startswith("liaf"):
        assert torch.allclose(out_single, out_multi, atol=1e-6)
    else:
        assert torch.equal(out_single, out_multi)
        assert 0 < out_multi.sum() < out_multi.numel()
    assert torch.allclose(single.v, multi.v, atol=1e-6)
    for state in ZOO[name][3]:
        assert torch.allclose(getattr(single, state), getattr(multi, state), atol=1e-6)


def _run(node, name, x, init_states, weight):
    for state, value in init_states.items():
        setattr(node, state, value)
    out = node(x)
    loss = (out * weight).sum() + (node.v * weight[0]).square().sum()
    for state in ZOO[name][3]:
        loss = loss + (getattr(node, state) * weight[-1]).sum()
    params = list(node.parameters())
    grads = torch.autograd.grad(loss, [x, *init_states.values(), *params])
    extras = [getattr(node, state).detach() for state in ZOO[name][3]]
    return out.detach(), node.v.detach(), extras, grads


@pytest.mark.parametrize("name, v_reset, detach_reset, surrogate", CASES)
@pytest.mark.parametrize("dtype, shape", [(torch.float64, (12, 3, 5)), (torch.float32, (7, 2, 2, 3))])
def test_torch_backend_matches_reference(name, v_reset, detach_reset, surrogate, dtype, shape):
    x = _inputs(name, shape, 2, dtype)
    init = {"v": torch.randn(shape[1:], dtype=dtype) * 0.3}
    for state in ZOO[name][3]:
        init[state] = torch.randn(shape[1:], dtype=dtype) * 0.2 + (0.5 if state == "m" else 0.0)
    weight = torch.randn(shape, dtype=dtype)
    results = []
    for backend in ("reference", "torch"):
        node = make(name, v_reset, detach_reset, surrogate, step_mode="m", backend=backend).to(dtype)
        states = {k: v.clone().requires_grad_() for k, v in init.items()}
        results.append(_run(node, name, x.clone().requires_grad_(), states, weight))
    (o_ref, v_ref, e_ref, g_ref), (o, v, e, g) = results
    tol = 1e-5 if dtype == torch.float32 else 1e-11
    if name.startswith("liaf"):
        assert torch.allclose(o, o_ref, atol=tol)
    else:
        assert torch.equal(o, o_ref)
    assert torch.allclose(v, v_ref, atol=tol)
    for a, b in zip(e, e_ref):
        assert torch.allclose(a, b, atol=tol)
    assert len(g) == len(g_ref)
    for a, b in zip(g, g_ref):
        assert torch.allclose(a, b, atol=tol * 10, rtol=tol * 10), (a - b).abs().max()
    assert g[0].abs().sum() > 0
    if name.startswith("klif"):
        assert g[-1].abs() > 0  # k learns


@pytest.mark.parametrize("name", list(NON_SPIKING))
@pytest.mark.parametrize("decode", [None, "max-mem", "max-abs-mem", "mean-mem", "last_mem"])
def test_non_spiking_single_multi_and_fused(name, decode):
    torch.manual_seed(3)
    x = torch.randn(8, 3, 4, dtype=torch.float64)
    single = NON_SPIKING[name](step_mode="s")
    v_single = torch.stack([single(step) for step in x])
    outputs, grads = [], []
    for backend in ("reference", "torch"):
        node = NON_SPIKING[name](decode=decode, backend=backend).double()
        x_in = x.clone().requires_grad_()
        out = node(x_in)
        outputs.append(out)
        grads.append(torch.autograd.grad((out * out.detach().cos()).sum(), x_in)[0])
        assert torch.equal(node.v, v_single[-1])
    assert torch.equal(outputs[0], outputs[1])
    assert torch.allclose(grads[0], grads[1], atol=1e-12)
    if decode is None:
        assert torch.equal(outputs[1], v_single)


@pytest.mark.parametrize("inplane, shape", [(None, (4, 3, 5)), (3, (4, 2, 3, 5)), (2, (4, 3, 2))])
def test_gated_lif_single_equals_multi_and_split_calls(inplane, shape):
    torch.manual_seed(4)
    x_seq = torch.randn(*shape) * 0.8 + 0.6
    torch.manual_seed(5)
    whole = neurons.GatedLIFNode(T=4, inplane=inplane)
    torch.manual_seed(5)
    single = neurons.GatedLIFNode(T=4, inplane=inplane, step_mode="s")
    torch.manual_seed(5)
    split = neurons.GatedLIFNode(T=4, inplane=inplane)
    out_whole = whole(x_seq)
    out_single = torch.stack([single(x) for x in x_seq])
    out_split = torch.cat([split(x_seq[:1]), split(x_seq[1:])])
    assert torch.equal(out_whole, out_single) and torch.equal(out_whole, out_split)
    assert 0 < out_whole.sum() < out_whole.numel()
    assert torch.allclose(whole.v, single.v, atol=1e-6) and torch.allclose(whole.v, split.v, atol=1e-6)
    assert whole.describe(x_seq).backend == "torch"
    out_whole.sum().backward()
    for p in whole.parameters():
        assert p.grad is not None


@pytest.mark.parametrize("inplane, shape", [(None, (6, 3, 4)), (3, (5, 2, 3, 2))])
@pytest.mark.parametrize("surrogate", SURROGATES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gated_lif_torch_backend_matches_reference(inplane, shape, surrogate, dtype):
    torch.manual_seed(12)
    x = torch.randn(*shape, dtype=dtype) * 0.8 + 0.6
    u0 = torch.randn(shape[1:], dtype=dtype) * 0.3
    s0 = (torch.rand(shape[1:]) > 0.5).to(dtype)
    weight = torch.randn(shape, dtype=dtype)
    results = []
    for backend in ("reference", "torch"):
        torch.manual_seed(13)
        node = neurons.GatedLIFNode(T=8, inplane=inplane, surrogate_function=surrogate(), backend=backend).to(dtype)
        with torch.no_grad():
            for p in node.parameters():
                p.add_(torch.randn_like(p) * 0.5)
        x_in, u_in, s_in = (t.clone().requires_grad_() for t in (x, u0, s0))
        node.v, node.spike = u_in, s_in
        out = node(x_in)
        loss = (out * weight).sum() + (node.v * weight[0]).square().sum()
        grads = torch.autograd.grad(loss, [x_in, u_in, s_in, *node.parameters()])
        results.append((out.detach(), node.v.detach(), grads))
    (o_ref, v_ref, g_ref), (o, v, g) = results
    tol = 1e-5 if dtype == torch.float32 else 1e-11
    assert torch.equal(o, o_ref) and 0 < o.sum() < o.numel()
    assert torch.allclose(v, v_ref, atol=tol)
    for a, b in zip(g, g_ref):
        assert torch.allclose(a, b, atol=tol * 10, rtol=tol * 10), (a - b).abs().max()
    assert all(a.abs().sum() > 0 for a in g)


def test_gradcheck_fused_gated_lif_away_from_threshold():
    """As for CLIF: a narrow Rect window that no membrane falls into makes every output
    locally smooth, so finite differences check the fused backward of all parameters."""
    torch.manual_seed(53)  # a seed whose membranes all stay outside the Rect window
    node = neurons.GatedLIFNode(T=4, inplane=2, surrogate_function=Rect(alpha=20.0), backend="torch").double()
    x = (torch.randn(4, 2, 2, 3, dtype=torch.float64) + 0.6).requires_grad_()
    params = list(node.parameters())

    def run(x_seq, *ps):
        functional.reset_net(node)
        return node(x_seq), node.v

    with torch.no_grad():
        spikes, _ = run(x)
        functional.reset_net(node)
        node.step_mode = "s"
        margins = []
        for step in x:
            node(step)
            margins.append((node.v - torch.sigmoid(node.v_threshold).view(2, 1)).abs().min())
        node.step_mode = "m"
        assert min(margins) > 0.025 + 1e-3 and spikes.sum() > 0
    assert torch.autograd.gradcheck(run, (x, *params), eps=1e-6, atol=1e-7)


def _glif_trace(x_seq, node):
    """GLIF equations written out (layer-wise gates) from the module's raw parameters."""
    sg = {k: torch.sigmoid(getattr(node, k)).item() for k in
          ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset")}
    u = torch.zeros_like(x_seq[0])
    s = torch.zeros_like(x_seq[0])
    out = []
    for t, x in enumerate(x_seq):
        g = torch.sigmoid(node.conduct[t]).item()
        leak = 1 - sg["alpha"] * (1 - sg["tau"])
        u_new = leak * u * (1 - sg["gamma"] * s) - (1 - sg["alpha"]) * sg["linear_decay"] \
            + x * (1 - sg["beta"] * (1 - g)) - (1 - sg["gamma"]) * sg["v_subreset"] * s
        s = (u_new >= sg["v_threshold"]).to(x.dtype)
        u = u_new
        out.append(s)
    return torch.stack(out), u


def test_gated_lif_matches_documented_equations():
    torch.manual_seed(6)
    node = neurons.GatedLIFNode(T=6).double()
    x = torch.rand(6, 5, dtype=torch.float64) * 1.5
    s = node(x)
    s_ref, u_ref = _glif_trace(x, node)
    assert torch.equal(s, s_ref)
    assert torch.allclose(node.v, u_ref, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in ZOO if n != "clif"])
@pytest.mark.parametrize("v_reset_index", [0, 1])
def test_gradcheck_fused_membrane_float64(name, v_reset_index):
    """gradcheck of the fused op's continuous outputs (membrane, extra states, k) in float64.

    With ``detach_reset=True`` and a smooth surrogate (Sigmoid) the membrane and the other
    states are piecewise-smooth functions of the input whose true derivative is what the
    fused backward computes (the surrogate only enters through the spike output), so finite
    differences must agree away from the threshold (checked: no charge within 1e-4 of it).
    """
    v_reset = ZOO[name][1][v_reset_index]
    node = make(name, v_reset, True, surrogates.Sigmoid, step_mode="m", backend="torch", store_v_seq=True).double()
    x = _inputs(name, (5, 2, 3), 7, torch.float64).requires_grad_()
    params = list(node.parameters())
    states = ZOO[name][3]

    def continuous(x_seq, *ps):
        functional.reset_net(node)
        node(x_seq)
        return (node.v_seq, *(getattr(node, s) for s in states))

    with torch.no_grad():  # no spike may flip within the finite-difference step: no jump in v
        base = continuous(x)[0].clone()
        for delta in (1e-4, -1e-4):
            assert (continuous(x + delta)[0] - base).abs().max() < 1e-2
    assert torch.autograd.gradcheck(continuous, (x, *params), eps=1e-6, atol=1e-7)


def test_gradcheck_fused_clif_away_from_threshold():
    """CLIF has no detach_reset: with a narrow Rect window that no charge falls into, the
    surrogate terms vanish and every output (spikes included) is locally smooth."""
    torch.manual_seed(19)  # a seed whose charges all stay outside the Rect window
    x = (torch.rand(5, 2, 3, dtype=torch.float64) * 2.0).requires_grad_()
    node = neurons.ComplementaryLIFNode(surrogate_function=Rect(alpha=10.0), step_mode="m", backend="torch",
                                        store_state_seqs=True).double()
    v0 = (torch.randn(2, 3, dtype=torch.float64) * 0.3).requires_grad_()
    m0 = (torch.rand(2, 3, dtype=torch.float64)).requires_grad_()

    def run(x_seq, v_init, m_init):
        functional.reset_net(node)
        node.v, node.m = v_init, m_init
        spikes = node(x_seq)
        return spikes, node.state_seqs[0], node.state_seqs[1]

    with torch.no_grad():
        spikes, v_seq, _ = run(x, v0, m0)
        v_prev = torch.cat([v0[None], v_seq[:-1]])
        h = v_prev - v_prev / 2.0 + x
        assert (h - 1.0).abs().min() > 0.05 + 1e-3
        assert spikes.sum() > 0
    assert torch.autograd.gradcheck(run, (x, v0, m0), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(NON_SPIKING))
def test_gradcheck_non_spiking(name):
    node = NON_SPIKING[name](decode="max-abs-mem", backend="torch").double()
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)

    def run(x_seq):
        functional.reset_net(node)
        return node(x_seq)

    assert torch.autograd.gradcheck(run, (x,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["qif", "izhikevich", "klif_scale", "cuba", "clif"])
def test_fused_saves_only_what_backward_needs(name):
    """h per element per step (CLIF: h and m) plus the initial state(s), nothing else."""
    x = _inputs(name, (6, 4, 5), 9).requires_grad_()
    node = make(name, ZOO[name][1][0], False, surrogates.ATan, step_mode="m", backend="torch")
    out = node(x)
    saved = out.grad_fn.saved_tensors
    per_step = 2 if name == "clif" else 1
    assert sum(t.numel() for t in saved) <= per_step * x.numel() + 2 * x[0].numel()


def test_non_fusable_surrogate_falls_back_to_reference():
    x = _inputs("qif", (6, 3), 10)
    outs = []
    for backend in ("reference", "auto"):
        node = neurons.QIFNode(surrogate_function=surrogates.Sigmoid(spiking=False), step_mode="m", backend=backend)
        outs.append(node(x))
    assert neurons.describe(node, x).backend == "reference"  # 'auto' skipped the fused ops
    assert torch.equal(outs[0], outs[1])
    explicit = neurons.QIFNode(surrogate_function=surrogates.Sigmoid(spiking=False), step_mode="m", backend="torch")
    with pytest.raises(neurons.BackendUnavailableError, match="spiking surrogate"):
        explicit(x)
    assert not torch.equal(outs[1], outs[1].round())  # smooth primitive, not spikes


def test_registry_declines_non_fusable_surrogate_given_as_context():
    from jelly.neurons.backends import BackendUnavailableError, resolve
    from jelly.neurons.backends.torch_nonlinear_if import QIF_OP

    x = torch.zeros(3, 2)
    smooth = surrogates.Sigmoid(spiking=False)
    assert resolve(QIF_OP, "auto", x, surrogate_function=surrogates.ATan()).backend == "torch"
    assert resolve(QIF_OP, "auto", x, surrogate_function=smooth).backend == "reference"
    with pytest.raises(BackendUnavailableError, match="spiking surrogate"):
        resolve(QIF_OP, "torch", x, surrogate_function=smooth)


def test_fused_runs_under_torch_compile_without_graph_breaks():
    """The fused ops are plain autograd Functions: dynamo traces them in one graph."""
    from torch._dynamo.utils import counters

    node = neurons.IzhikevichNode(a=0.2, b=0.1, step_mode="m")
    x = _inputs("izhikevich", (5, 3), 11)
    expected = node(x)
    functional.reset_net(node)
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(node, backend="eager")
    assert torch.equal(compiled(x), expected)
    assert not counters["graph_break"], dict(counters["graph_break"])
