"""Recurrent zoo neurons: documented equations (written out independently), states, errors."""

import math

import pytest
import torch

from jelly import neurons, surrogates
from jelly.core import StateShapeError, StepModeError, functional

X_A = [0.6, 1.5, -0.3, 2.0, 0.9, 0.1, 1.2, 0.0, 0.7, 1.1, 1.6, -0.5]


def _inputs():
    """Two hand-picked input traces side by side, ``[T, 2]`` float64."""
    return torch.tensor([X_A, X_A[::-1]], dtype=torch.float64).T.contiguous()


def _heav(u):
    return 1.0 if u >= 0 else 0.0


def _sig(u):
    return 1.0 / (1.0 + math.exp(-u))


def _reset(h, s, v_th, v_reset):
    return h - v_th * s if v_reset is None else (v_reset if s else h)


def qif_trace(xs, tau=2.0, v_c=0.8, a0=1.0, v_th=1.0, v_rest=0.0, v_reset=-0.1):
    v = 0.0 if v_reset is None else v_reset
    out = []
    for x in xs:
        h = v + (x + a0 * (v - v_rest) * (v - v_c)) / tau
        s = _heav(h - v_th)
        v = _reset(h, s, v_th, v_reset)
        out.append((s, v))
    return out


def eif_trace(xs, tau=2.0, delta_T=1.0, theta_rh=0.8, v_th=1.0, v_rest=0.0, v_reset=-0.1):
    v = 0.0 if v_reset is None else v_reset
    out = []
    for x in xs:
        h = v + (x - (v - v_rest) + delta_T * math.exp((v - theta_rh) / delta_T)) / tau
        s = _heav(h - v_th)
        v = _reset(h, s, v_th, v_reset)
        out.append((s, v))
    return out


def izhikevich_trace(xs, tau=2.0, v_c=0.8, a0=1.0, v_th=1.0, v_reset=0.0, v_rest=-0.1, w_rest=0.0, tau_w=2.0,
                     a=0.0, b=0.0):
    v, w = (0.0 if v_reset is None else v_reset), w_rest
    out = []
    for x in xs:
        h = v + (x + a0 * (v - v_rest) * (v - v_c) - w) / tau
        s = _heav(h - v_th)
        w = w + (a * (h - v_rest) - w) / tau_w + b * s
        v = _reset(h, s, v_th, v_reset)
        out.append((s, v, w))
    return out


def klif_trace(xs, k, scale_reset, tau=2.0, v_th=1.0, v_reset=0.0):
    v_r = 0.0 if v_reset is None else v_reset
    v = v_r
    out = []
    for x in xs:
        h = v + (x - (v - v_r)) / tau
        f = max(k * h, 0.0)
        s = _heav(f - v_th)
        if scale_reset:
            v = (f - v_th * s) / k if v_reset is None else (v_reset if s else f / k)
        else:
            v = _reset(f, s, v_th, v_reset)
        out.append((s, v))
    return out


def liaf_trace(xs, act, threshold_related, tau=2.0, v_th=1.0, v_reset=0.0):
    v_r = 0.0 if v_reset is None else v_reset
    v = v_r
    out = []
    for x in xs:
        h = v + (x - (v - v_r)) / tau
        y = act(h - v_th) if threshold_related else act(h)
        s = _heav(h - v_th)
        v = _reset(h, s, v_th, v_reset)
        out.append((y, v))
    return out


def cuba_trace(xs, c_decay=0.5, v_decay=0.75, v_th=0.5, v_reset=0.0):
    c, v = 0.0, (0.0 if v_reset is None else v_reset)
    out = []
    for x in xs:
        c = c * c_decay + x
        h = v * v_decay + c
        s = _heav(h - v_th)
        v = _reset(h, s, v_th, v_reset)
        out.append((s, v, c))
    return out


def clif_trace(xs, tau=2.0, v_th=1.0):
    v, m = 0.0, 0.0
    out = []
    for x in xs:
        h = (1 - 1 / tau) * v + x
        s = _heav(h - v_th)
        m = m * _sig(h / tau) + s
        v = h - s * (v_th + _sig(m))
        out.append((s, v, m))
    return out


def _check(node, expected_per_column, extra=None):
    """Run ``node`` (multi-step, float64) on the two traces and compare every column."""
    node = node.double()
    node.step_mode = "m"
    node.store_v_seq = True
    out = node(_inputs())
    for col, expected in enumerate(expected_per_column):
        exp_out = torch.tensor([e[0] for e in expected], dtype=torch.float64)
        exp_v = torch.tensor([e[1] for e in expected], dtype=torch.float64)
        assert torch.allclose(out[:, col], exp_out, atol=1e-12, rtol=0), (out[:, col], exp_out)
        if node.v_seq is not None:
            assert torch.allclose(node.v_seq[:, col], exp_v, atol=1e-12, rtol=0)
        assert math.isclose(node.v[col].item(), expected[-1][1], abs_tol=1e-12)
        if extra is not None:
            assert math.isclose(getattr(node, extra)[col].item(), expected[-1][2], abs_tol=1e-12)
    return out


def _cols(trace, **kw):
    return [trace(X_A, **kw), trace(X_A[::-1], **kw)]


@pytest.mark.parametrize("v_reset", [-0.1, None])
def test_qif_eif_equations(v_reset):
    s = _check(neurons.QIFNode(v_reset=v_reset), _cols(qif_trace, v_reset=v_reset))
    assert 0 < s.sum() < s.numel()
    s = _check(neurons.EIFNode(v_reset=v_reset), _cols(eif_trace, v_reset=v_reset))
    assert 0 < s.sum() < s.numel()
    kw = dict(tau=3.0, v_c=0.5, a0=0.7, v_threshold=0.9, v_rest=0.1, v_reset=v_reset)
    _check(neurons.QIFNode(**kw), _cols(qif_trace, tau=3.0, v_c=0.5, a0=0.7, v_th=0.9, v_rest=0.1, v_reset=v_reset))
    _check(neurons.EIFNode(tau=2.5, delta_T=0.5, theta_rh=0.6, v_rest=0.05, v_reset=v_reset),
           _cols(eif_trace, tau=2.5, delta_T=0.5, theta_rh=0.6, v_rest=0.05, v_reset=v_reset))


@pytest.mark.parametrize("v_reset", [0.0, None])
def test_izhikevich_equations(v_reset):
    _check(neurons.IzhikevichNode(v_reset=v_reset), _cols(izhikevich_trace, v_reset=v_reset), extra="w")
    kw = dict(tau=2.5, v_c=0.6, a0=0.8, v_rest=-0.2, w_rest=0.1, tau_w=3.0, a=0.4, b=0.3)
    s = _check(neurons.IzhikevichNode(v_reset=v_reset, **kw), _cols(izhikevich_trace, v_reset=v_reset, **kw),
               extra="w")
    assert 0 < s.sum() < s.numel()


@pytest.mark.parametrize("scale_reset", [False, True])
@pytest.mark.parametrize("v_reset", [0.0, None])
def test_klif_equations(scale_reset, v_reset):
    node = neurons.KLIFNode(scale_reset, v_reset=v_reset).double()
    with torch.no_grad():
        node.k.fill_(1.4)
    s = _check(node, _cols(klif_trace, k=1.4, scale_reset=scale_reset, v_reset=v_reset))
    assert 0 < s.sum() < s.numel()


@pytest.mark.parametrize("threshold_related", [True, False])
@pytest.mark.parametrize("v_reset", [0.0, None])
def test_liaf_equations(threshold_related, v_reset):
    node = neurons.LIAFNode(torch.tanh, threshold_related, v_reset=v_reset)
    _check(node, _cols(liaf_trace, act=math.tanh, threshold_related=threshold_related, v_reset=v_reset))


@pytest.mark.parametrize("v_reset", [0.0, None])
def test_cuba_lif_equations(v_reset):
    s = _check(neurons.CUBALIFNode(v_reset=v_reset), _cols(cuba_trace, v_reset=v_reset), extra="c")
    assert 0 < s.sum() < s.numel()


def test_clif_equations():
    node = neurons.ComplementaryLIFNode(store_state_seqs=True)
    s = _check(node, _cols(clif_trace), extra="m")
    assert 0 < s.sum() < s.numel()
    assert torch.equal(node.state_seqs[0], node.v_seq)
    assert math.isclose(node.state_seqs[1][-1, 0].item(), clif_trace(X_A)[-1][2], abs_tol=1e-12)


def test_non_spiking_equations_and_decodes():
    x = _inputs()
    v_if = torch.cumsum(x, dim=0)
    assert torch.allclose(neurons.NonSpikingIFNode().double()(x), v_if, atol=1e-12)
    v, trace = torch.zeros(2, dtype=torch.float64), []
    for step in x:
        v = v + (step - v) / 3.0
        trace.append(v)
    v_lif = torch.stack(trace)
    assert torch.allclose(neurons.NonSpikingLIFNode(tau=3.0).double()(x), v_lif, atol=1e-12)
    decodes = {
        "max-mem": v_lif.max(0).values,
        "mean-mem": v_lif.mean(0),
        "last_mem": v_lif[-1],
        "max-abs-mem": torch.stack([v_lif[:, i][v_lif[:, i].abs().argmax()] for i in range(2)]),
    }
    for decode, expected in decodes.items():
        assert torch.allclose(neurons.NonSpikingLIFNode(3.0, decode=decode).double()(x), expected, atol=1e-12)
    assert neurons.NonSpikingIFNode().step_mode == "m"


# -- states, errors ----------------------------------------------------------------------
FACTORIES = {
    "qif": (lambda **kw: neurons.QIFNode(**kw), ()),
    "eif": (lambda **kw: neurons.EIFNode(**kw), ()),
    "izhikevich": (lambda **kw: neurons.IzhikevichNode(w_rest=0.2, **kw), ("w",)),
    "klif": (lambda **kw: neurons.KLIFNode(**kw), ()),
    "liaf": (lambda **kw: neurons.LIAFNode(torch.relu, True, **kw), ()),
    "cuba": (lambda **kw: neurons.CUBALIFNode(**kw), ("c",)),
    "clif": (lambda **kw: neurons.ComplementaryLIFNode(**kw), ("m",)),
    "nsif": (lambda **kw: neurons.NonSpikingIFNode(**kw), ()),
    "nslif": (lambda **kw: neurons.NonSpikingLIFNode(**kw), ()),
    "glif": (lambda **kw: neurons.GatedLIFNode(T=8, **kw), ("spike",)),
}


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_reset_clears_all_states_and_shape_change_raises(name, step_mode):
    factory, extras = FACTORIES[name]
    node = factory(step_mode=step_mode)
    initial = {k: v for k, v in node.named_memories()}
    x = torch.rand(2, 4, 3) + 0.5 if step_mode == "m" else torch.rand(4, 3) + 0.5
    node(x)
    assert isinstance(node.v, torch.Tensor)
    for state in extras:
        assert isinstance(getattr(node, state), torch.Tensor), state
    other = x[:, :2] if step_mode == "m" else x[:2]
    with pytest.raises(StateShapeError, match="reset_net"):
        node(other)
    if extras and name != "glif":  # a stale extra state alone is caught too, naming it
        node.v = initial["v"]
        with pytest.raises(StateShapeError, match=extras[0]):
            node(other)
    functional.reset_net(node)
    for key, value in node.named_memories():
        assert value == initial[key] if not isinstance(initial[key], torch.Tensor) else torch.equal(value, initial[key])
    assert node(other).shape == other.shape


@pytest.mark.parametrize("name", list(FACTORIES))
def test_integer_input_and_wrong_rank_raise(name):
    factory, _ = FACTORIES[name]
    with pytest.raises(TypeError, match="floating-point"):
        factory(step_mode="s")(torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="floating-point"):
        factory(step_mode="m")(torch.ones(4, 3, 2, dtype=torch.int32))
    with pytest.raises(StepModeError, match=r"\[T, N"):
        factory(step_mode="m")(torch.rand(5))


BAD_ARGS = [
    (neurons.QIFNode, {"tau": 1.0}, ValueError, "tau"),
    (neurons.QIFNode, {"a0": 0.0}, ValueError, "a0"),
    (neurons.QIFNode, {"v_rest": -0.5}, ValueError, "v_rest"),
    (neurons.QIFNode, {"tau": "2"}, TypeError, "tau"),
    (neurons.EIFNode, {"delta_T": -1.0}, ValueError, "delta_T"),
    (neurons.EIFNode, {"tau": 0.5}, ValueError, "tau"),
    (neurons.EIFNode, {"theta_rh": float("nan")}, ValueError, "theta_rh"),
    (neurons.IzhikevichNode, {"tau_w": 0.0}, ValueError, "tau_w"),
    (neurons.IzhikevichNode, {"a0": -1.0}, ValueError, "a0"),
    (neurons.IzhikevichNode, {"v_threshold": -0.5}, ValueError, "v_threshold"),
    (neurons.KLIFNode, {"tau": 1.0}, ValueError, "tau"),
    (neurons.KLIFNode, {"v_threshold": 0.0, "v_reset": None}, ValueError, "v_threshold"),
    (neurons.CUBALIFNode, {"c_decay": 1.5}, ValueError, "c_decay"),
    (neurons.CUBALIFNode, {"v_decay": -0.1}, ValueError, "v_decay"),
    (neurons.ComplementaryLIFNode, {"tau": 1.0}, ValueError, "tau"),
    (neurons.ComplementaryLIFNode, {"v_threshold": -1.0}, ValueError, "v_threshold"),
    (neurons.NonSpikingLIFNode, {"tau": 1.0}, ValueError, "tau"),
    (neurons.NonSpikingIFNode, {"decode": "max"}, ValueError, "decode"),
    (neurons.GatedLIFNode, {"T": 0}, ValueError, "T"),
    (neurons.GatedLIFNode, {"T": 4, "inplane": 0}, ValueError, "inplane"),
    (neurons.GatedLIFNode, {"T": 4, "init_tau": 1.5}, ValueError, "init_tau"),
    (neurons.GatedLIFNode, {"T": 4, "init_v_threshold": 0.0}, ValueError, "init_v_threshold"),
]


@pytest.mark.parametrize("cls, kwargs, error, match", BAD_ARGS)
def test_bad_arguments(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_liaf_arguments():
    with pytest.raises(TypeError, match="act"):
        neurons.LIAFNode("relu", True)
    with pytest.raises(ValueError, match="tau"):
        neurons.LIAFNode(torch.relu, True, tau=1.0)
    node = neurons.LIAFNode(torch.nn.ReLU(), False, step_mode="m")
    y = node(torch.rand(3, 4) * 2)
    assert (y >= 0).all() and not torch.equal(y, y.round())  # analog output


def test_gated_lif_step_budget_and_channels():
    node = neurons.GatedLIFNode(T=3, inplane=2)
    node(torch.rand(2, 4, 2, 5))
    with pytest.raises(RuntimeError, match="T=3"):
        node(torch.rand(2, 4, 2, 5))
    functional.reset_net(node)
    assert node.time_step == 0
    node(torch.rand(3, 4, 2, 5))
    functional.reset_net(node)
    with pytest.raises(ValueError, match="inplane=2"):
        node(torch.rand(3, 4, 3, 5))
    names = {n for n, _ in node.named_parameters()}
    assert names == {"alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset", "conduct"}
    assert node.conduct.shape == (3, 2)
    with pytest.raises(ValueError, match="backend"):
        neurons.GatedLIFNode(T=3, backend="no_such_backend")


def test_backends_and_describe():
    fused = [neurons.QIFNode(), neurons.EIFNode(), neurons.IzhikevichNode(), neurons.KLIFNode(),
             neurons.LIAFNode(torch.relu, True), neurons.CUBALIFNode(), neurons.ComplementaryLIFNode(),
             neurons.NonSpikingIFNode(), neurons.NonSpikingLIFNode(), neurons.GatedLIFNode(T=3)]
    x = torch.rand(3, 2)
    for node in fused:
        assert set(node.supported_backends) >= {"auto", "torch", "reference"}
        assert neurons.describe(node, x).backend == "torch"
        node.backend = "reference"
        assert neurons.describe(node, x).backend == "reference"


def test_defaults_follow_spikingjelly():
    from jelly.surrogates.piecewise import Rect

    q = neurons.QIFNode()
    assert (q.tau, q.v_c, q.a0, q.v_threshold, q.v_rest, q.v_reset) == (2.0, 0.8, 1.0, 1.0, 0.0, -0.1)
    e = neurons.EIFNode()
    assert (e.tau, e.delta_T, e.theta_rh, e.v_rest, e.v_reset) == (2.0, 1.0, 0.8, 0.0, -0.1)
    iz = neurons.IzhikevichNode()
    assert (iz.v_reset, iz.v_rest, iz.w_rest, iz.tau_w, iz.a, iz.b) == (0.0, -0.1, 0.0, 2.0, 0.0, 0.0)
    c = neurons.CUBALIFNode()
    assert (c.c_decay, c.v_decay, c.v_threshold, c.v_reset) == (0.5, 0.75, 0.5, 0.0)
    assert isinstance(c.surrogate_function, Rect)
    cl = neurons.ComplementaryLIFNode()
    assert isinstance(cl.surrogate_function, Rect) and cl.surrogate_function.alpha == 1.0 and cl.v_reset is None
    assert isinstance(neurons.QIFNode().surrogate_function, surrogates.Sigmoid)
    k = neurons.KLIFNode()
    assert k.k.item() == 1.0 and "k" in k.state_dict()
