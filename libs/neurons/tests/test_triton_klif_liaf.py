"""The Triton KLIF and LIAF ops against the reference, on CPU under Triton's interpreter.

Set-up as in ``test_triton_backend.py``: Triton and every kernel module are imported in
interpreter mode at collection time, an autouse fixture sets ``TRITON_INTERPRET=1`` while
a test runs, and the module is skipped where that cannot be done (no Triton, a GPU present).

Tolerances: float32 spikes, membranes and LIAF charges ``h`` exactly equal to the reference
(the kernels evaluate the same operations in the same order, with correctly rounded
divisions by ``τ`` and ``k``); the LIAF outputs ``act(h)`` to ``1e-6`` relative, because
``act`` runs on the whole sequence at once while the reference runs it step by step, and
PyTorch's vectorised and scalar CPU paths of e.g. ``sigmoid`` may differ in the last bit
(the ``torch`` backend does the same); float32 gradients to ``1e-5`` relative to the
largest magnitude (the backward groups its products differently from autograd).
float16/bfloat16 I/O against the float32 reference on the same rounded inputs: spikes
exactly (float32 compute and the 16-bit guard of the saved charge), the rest to
``5e-3``/``3e-2`` relative to the largest magnitude, as for the other Triton ops.
"""

import sys

import pytest
import torch

from jelly import neurons, surrogates
from jelly.neurons.backends import BackendUnavailableError, resolve
from jelly.neurons.backends.triton.interpreter import load_interpreted
from jelly.neurons.functional.integrate_fire import LinearChargeParams, lif_charge
from jelly.neurons.functional.klif import KLIFParams

_WHY_NOT = load_interpreted()
if _WHY_NOT is not None:
    pytest.skip(_WHY_NOT, allow_module_level=True)
assert "triton" in sys.modules
torch.set_num_threads(1)

KLIF_OP, LIAF_OP = "klif_multistep", "liaf_multistep"
TOLERANCE = {torch.float32: 1e-5, torch.float16: 5e-3, torch.bfloat16: 3e-2}
RESETS = {"hard0": 0.0, "hard": -0.3, "soft": None}


@pytest.fixture(autouse=True)
def interpreter(monkeypatch):
    """``TRITON_INTERPRET=1`` while a test of this module runs (the check accepts CPU tensors)."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def fn_of(op, backend):
    return resolve(op, backend, torch.zeros(1)).fn


def close(actual, expected, rel, what):
    actual, expected = actual.detach(), expected.detach()
    scale = max(float(expected.abs().max()), 1e-3)
    error = float((actual.float() - expected.float()).abs().max())
    assert error <= rel * scale, f"{what}: max error {error:.3g} > {rel:.1g} x {scale:.3g}"


def inputs(shape, dtype, seed, scale=1.5):
    torch.manual_seed(seed)
    x = (torch.randn(shape) * scale + 0.4).to(dtype)
    v0 = (torch.randn(shape[1:]) * 0.5).to(dtype)
    return x, v0, torch.randn(shape).to(dtype), torch.randn(shape).to(dtype)


def grads_of(outputs, weights, leaves):
    """Gradients of ``sum(out * w)`` over the outputs whose weight is not ``None``."""
    loss = sum((out * w).sum() for out, w in zip(outputs, weights) if w is not None)
    return torch.autograd.grad(loss, leaves)


# -- KLIF ------------------------------------------------------------------------------
def run_klif(backend, x, v0, k, params, surrogate, grad_s, grad_v):
    x, v0, k = (t.detach().clone().requires_grad_() for t in (x, v0, k))
    spike, v = fn_of(KLIF_OP, backend)(x, v0, k, params, surrogate)
    return spike.detach(), v.detach(), grads_of((spike, v), (grad_s, grad_v), (x, v0, k))


def compare_klif(params, surrogate, dtype=torch.float32, shape=(5, 3, 7), seed=0, k_value=1.3,
                 use_spike=True, use_v=True):
    """Triton (I/O and ``k`` in ``dtype``, as the module passes them) against the float32 reference."""
    x, v0, grad_s, grad_v = inputs(shape, dtype, seed)
    k = torch.tensor(k_value).to(dtype)
    weights = (grad_s if use_spike else None, grad_v if use_v else None)
    s, v, g = run_klif("triton", x, v0, k, params, surrogate, *weights)
    s_ref, v_ref, g_ref = run_klif("reference", x.float(), v0.float(), k.float(), params, surrogate,
                                   *(None if w is None else w.float() for w in weights))
    assert s.dtype == v.dtype == g[0].dtype == g[2].dtype == dtype
    assert torch.equal(s.float(), s_ref), "spikes differ"
    assert 0 < s_ref.sum() < s_ref.numel(), "the case should have both spikes and silence"
    if dtype == torch.float32:
        assert torch.equal(v, v_ref), "membranes differ"
    else:
        close(v, v_ref, TOLERANCE[dtype], "v_seq")
    for name, a, b in zip(("grad_x", "grad_v_init", "grad_k"), g, g_ref):
        close(a, b, TOLERANCE[dtype], name)
    assert float(g_ref[2].abs()) > 0, "k should get a gradient"


KLIF_CASES = [
    (scale_reset, reset, decay_input, detach_reset)
    for scale_reset in (False, True)
    for reset in RESETS
    for decay_input in (True, False)
    for detach_reset in (False, True)
]


@pytest.mark.parametrize(("scale_reset", "reset", "decay_input", "detach_reset"), KLIF_CASES)
def test_klif_float32_matches_reference(scale_reset, reset, decay_input, detach_reset):
    params = KLIFParams(1.7, decay_input, scale_reset, 1.0, RESETS[reset], detach_reset)
    compare_klif(params, surrogates.ATan())


SURROGATES = [surrogates.Sigmoid(), surrogates.ATan(alpha=3.0),
              surrogates.SquarewaveFourierSeries(n=4, T_period=6.0), surrogates.PiecewiseLeakyReLU(w=0.7, c=0.05)]


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("scale_reset", [False, True])
def test_klif_surrogates_match_reference(surrogate, scale_reset):
    compare_klif(KLIFParams(2.5, True, scale_reset, 0.8, -0.2), surrogate, shape=(4, 9), k_value=0.7)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("scale_reset", [False, True])
@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_klif_half_precision_matches_float32_reference(dtype, scale_reset, reset):
    compare_klif(KLIFParams(2.5, True, scale_reset, 1.0, RESETS[reset]), surrogates.Sigmoid(), dtype=dtype)


@pytest.mark.parametrize(("use_spike", "use_v"), [(True, False), (False, True)])
def test_klif_one_output_gradient_odd_shapes(use_spike, use_v):
    # an absent incoming gradient is not read; T = 1 and a width that fills no block
    compare_klif(KLIFParams(2.0, False, True, 1.0, None), surrogates.Sigmoid(), shape=(1, 37),
                 use_spike=use_spike, use_v=use_v)
    compare_klif(KLIFParams(2.0, True, False, 1.0, -0.1), surrogates.ATan(), shape=(6, 5, 3),
                 use_spike=use_spike, use_v=use_v)


def test_klif_many_programs_sum_their_k_partials(monkeypatch):
    from jelly.neurons.backends.triton import launch

    monkeypatch.setattr(launch, "_BLOCK_INTERPRETER", 16)
    compare_klif(KLIFParams(2.0, True, True, 1.0, None), surrogates.ATan(), shape=(3, 70))


def _threshold_crossers(dtype, k, params):
    """``(v0, x)`` in ``dtype`` whose float32 charge ``h`` and ``h`` rounded to ``dtype`` spike differently."""
    found = []
    for v0 in torch.linspace(0.1, 0.5, 41).to(dtype).unique():
        x = torch.linspace(0.5, 2.0, 60001).to(dtype).unique()
        h = lif_charge(x.float(), v0.float().expand_as(x), params.tau, params.decay_input, params.v_reset)
        fired = torch.relu(k * h) >= params.v_threshold
        crossed = fired != (torch.relu(k * h.to(dtype).float()) >= params.v_threshold)
        found += [(v0, xi) for xi in x[crossed]]
    return found


def _check_saved_charge(x, v0, k, params, dtype):
    """The 16-bit saved charge passes the forward's spike and ReLU tests; the backward matches."""
    from jelly.neurons.backends.triton import klif_ops

    v_reset = params.v_reset
    spikes, _, h_saved = klif_ops.klif_forward_op(x, v0, k, params.v_threshold, v_reset, True, params.tau, True,
                                                  False, False, "Sigmoid", [4.0, 0.0, 0.0], 0, True)
    h = lif_charge(x[0].float(), v0.float(), params.tau, True, v_reset)
    f = torch.relu(k * h)
    saved = h_saved[0].float()
    assert torch.equal(spikes[0].float(), (f >= 1.0).float())
    assert torch.equal(torch.relu(k * saved) >= 1.0, f >= 1.0), "the saved charge flips a spike"
    assert torch.equal(k * saved > 0, k * h > 0), "the saved charge flips the ReLU"
    ulp = 2.0 ** (-10 if dtype == torch.float16 else -7)
    assert float((saved - h).abs().max()) <= max(float(h.abs().max()) * ulp, 2.0**-24)
    # the backward recomputes the spikes from it: it matches the float32 reference
    grad_v = torch.ones_like(x)
    _, _, g = run_klif("triton", x, v0, k, params, surrogates.Sigmoid(), None, grad_v)
    _, _, g_ref = run_klif("reference", x.float(), v0.float(), k, params, surrogates.Sigmoid(), None, grad_v.float())
    for name, a, b in zip(("grad_x", "grad_v_init", "grad_k"), g, g_ref):
        close(a, b, TOLERANCE[dtype], name)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_klif_half_saved_charge_keeps_the_forward_spikes(dtype):
    k = torch.tensor(1.3)
    params = KLIFParams(1.7, True, False, 1.0, -0.5)
    pairs = _threshold_crossers(dtype, k, params)
    assert len(pairs) >= 2, "the search should find charges that round across the threshold"
    x = torch.stack([p[1] for p in pairs])[None]
    _check_saved_charge(x, torch.stack([p[0] for p in pairs]), k, params, dtype)


def test_klif_float16_saved_charge_keeps_the_relu_side():
    # h = -u + 2u / 1.7 (u = 2^-24, the smallest float16) is positive and rounds to 0 in
    # float16, where k h > 0 would fail: the saved charge is u instead
    u = 2.0**-24
    x, v0 = torch.tensor([[u]], dtype=torch.float16), torch.tensor([-u], dtype=torch.float16)
    params = KLIFParams(1.7, True, False, 1.0, 0.0)
    h = lif_charge(x.float(), v0.float(), params.tau, True, 0.0)
    assert float(h) > 0 and float(h.half()) == 0
    _check_saved_charge(x, v0, torch.tensor(1.3), params, torch.float16)


# -- LIAF ------------------------------------------------------------------------------
def run_liaf(backend, x, v0, params, act, threshold_related, surrogate, grad_y, grad_v):
    x, v0 = (t.detach().clone().requires_grad_() for t in (x, v0))
    y, v = fn_of(LIAF_OP, backend)(x, v0, params, act, threshold_related, surrogate)
    return y.detach(), v.detach(), grads_of((y, v), (grad_y, grad_v), (x, v0))


def identity(h):
    return h


def compare_liaf(params, surrogate, act=torch.tanh, threshold_related=True, dtype=torch.float32, shape=(5, 3, 7),
                 seed=0, use_y=True, use_v=True):
    """Triton (I/O in ``dtype``) against the float32 reference on the same rounded inputs."""
    x, v0, grad_y, grad_v = inputs(shape, dtype, seed)
    weights = (grad_y if use_y else None, grad_v if use_v else None)
    y, v, g = run_liaf("triton", x, v0, params, act, threshold_related, surrogate, *weights)
    y_ref, v_ref, g_ref = run_liaf("reference", x.float(), v0.float(), params, act, threshold_related, surrogate,
                                   *(None if w is None else w.float() for w in weights))
    with torch.no_grad():  # the charged membranes themselves (identity activation)
        h_ref, _ = fn_of(LIAF_OP, "reference")(x.float(), v0.float(), params, identity, False, surrogate)
        h, _ = fn_of(LIAF_OP, "triton")(x, v0, params, identity, False, surrogate)
    fired = h_ref >= params.v_threshold
    assert 0 < fired.sum() < fired.numel(), "the case should have both spikes and silence"
    assert torch.equal(h.float() >= params.v_threshold, fired), "spikes differ"
    assert y.dtype == v.dtype == g[0].dtype == dtype
    if dtype == torch.float32:
        assert torch.equal(h, h_ref), "charged membranes differ"
        assert torch.equal(v, v_ref), "membranes differ"
        # act runs on all of h_seq at once here, step by step in the reference: PyTorch's
        # vectorised and scalar CPU paths of e.g. sigmoid may differ in the last bit
        close(y, y_ref, 1e-6, "y_seq")
    else:
        close(y, y_ref, TOLERANCE[dtype], "y_seq")
        close(v, v_ref, TOLERANCE[dtype], "v_seq")
    for name, a, b in zip(("grad_x", "grad_v_init"), g, g_ref):
        close(a, b, TOLERANCE[dtype], name)


LIAF_CASES = [
    (reset, decay_input, detach_reset, threshold_related)
    for reset in RESETS
    for decay_input in (True, False)
    for detach_reset in (False, True)
    for threshold_related in (True, False)
]


@pytest.mark.parametrize(("reset", "decay_input", "detach_reset", "threshold_related"), LIAF_CASES)
def test_liaf_float32_matches_reference(reset, decay_input, detach_reset, threshold_related):
    params = LinearChargeParams("lif", 1.0, RESETS[reset], 1.7, decay_input, detach_reset)
    compare_liaf(params, surrogates.ATan(), threshold_related=threshold_related)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
def test_liaf_surrogates_and_activations_match_reference(surrogate):
    params = LinearChargeParams("lif", 0.8, -0.2, 2.5)
    compare_liaf(params, surrogate, act=torch.nn.ReLU(), shape=(4, 9))
    compare_liaf(params, surrogate, act=torch.nn.Sigmoid(), threshold_related=False, shape=(4, 9))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_liaf_half_precision_matches_float32_reference(dtype, reset):
    params = LinearChargeParams("lif", 1.0, RESETS[reset], 2.5)
    compare_liaf(params, surrogates.Sigmoid(), dtype=dtype)


@pytest.mark.parametrize(("use_y", "use_v"), [(True, False), (False, True)])
def test_liaf_one_output_gradient_odd_shapes(use_y, use_v):
    params = LinearChargeParams("lif", 1.0, None, 2.0, False)
    compare_liaf(params, surrogates.Sigmoid(), shape=(1, 37), use_y=use_y, use_v=use_v)
    compare_liaf(params, surrogates.ATan(), shape=(6, 5, 3), use_y=use_y, use_v=use_v)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_liaf_half_output_keeps_the_side_of_the_threshold(dtype):
    # charges within half a 16-bit step of v_th that round to its other side: the output h
    # (which the backward reads back) must stay on the side the reset saw
    from jelly.neurons.backends.triton import liaf_ops

    params = LinearChargeParams("lif", 0.7, 0.0, 1.7)
    grid = torch.linspace(0.5, 1.5, 4001).to(dtype).unique()
    starts = torch.linspace(0.1, 0.5, 41).to(dtype).unique()
    x, v0 = grid.repeat(len(starts)), starts.repeat_interleave(len(grid))  # every (x, v0) pair
    with torch.no_grad():
        h32, _ = fn_of(LIAF_OP, "reference")(x[None].float(), v0.float(), params, identity, False, surrogates.Sigmoid())
    h32 = h32[0]
    crossed = (h32 >= 0.7) != (h32.to(dtype).float() >= 0.7)
    assert crossed.any(), "the search should find charges that round across the threshold"
    h_seq, v_seq = liaf_ops.liaf_forward_op(x[None], v0.to(dtype), 0.7, 0.0, True, 1.7, True, False, "Sigmoid",
                                            [4.0, 0.0, 0.0], 0)
    assert torch.equal(h_seq[0].float() >= 0.7, h32 >= 0.7)
    assert torch.equal(v_seq[0] == 0, h32 >= 0.7)
    ulp = 2.0 ** (-10 if dtype == torch.float16 else -7)
    assert float(((h_seq[0].float() - h32).abs() / h32.abs()).max()) <= ulp
    assert torch.equal(h_seq[0][~crossed], h32[~crossed].to(dtype)), "uncrossed charges are rounded to nearest"


# -- modules, custom ops, errors -------------------------------------------------------
def test_modules_with_triton_backend_match_reference():
    torch.manual_seed(1)
    x = torch.rand(6, 4, 5) * 2
    makers = (
        lambda b: neurons.KLIFNode(step_mode="m", backend=b),
        lambda b: neurons.KLIFNode(scale_reset=True, v_reset=None, tau=3.0, step_mode="m", backend=b),
        lambda b: neurons.LIAFNode(torch.nn.Tanh(), True, step_mode="m", backend=b),
        lambda b: neurons.LIAFNode(torch.nn.ReLU(), False, v_reset=-0.2, decay_input=False, step_mode="m", backend=b),
    )
    for make in makers:
        fast, slow = make("triton"), make("reference")
        if hasattr(fast, "k"):
            with torch.no_grad():
                fast.k.fill_(1.2)
                slow.k.fill_(1.2)
        assert fast.describe(x).backend == "triton"
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        outs = [(fast(xa), fast(xa * 0.5)), (slow(xb), slow(xb * 0.5))]  # the second call starts from the state
        for a, b in zip(*outs):
            assert torch.equal(a, b)
        assert torch.equal(fast.v, slow.v)
        weights = torch.linspace(-1.0, 2.0, x.numel()).reshape(x.shape)
        for first, second in outs:
            ((first + second) * weights).sum().backward()
        close(xa.grad, xb.grad, 1e-5, "x.grad")
        if hasattr(fast, "k"):
            close(fast.k.grad, slow.k.grad, 1e-5, "k.grad")


def test_inference_saves_nothing_and_matches():
    from jelly.neurons.backends.triton import klif_ops

    torch.manual_seed(2)
    x = (torch.randn(4, 6, 3) * 2).transpose(1, 2)  # not contiguous
    v0, k = torch.zeros(3, 6), torch.tensor(0.9)
    params = KLIFParams(2.0, True, True, 1.0, 0.1)
    with torch.no_grad():
        s, v = fn_of(KLIF_OP, "triton")(x, v0, k, params, surrogates.Sigmoid())
        s_ref, v_ref = fn_of(KLIF_OP, "reference")(x, v0, k, params, surrogates.Sigmoid())
        *_, h = klif_ops.klif_forward_op(x, v0, k, 1.0, 0.1, True, 2.0, True, True, False, "Sigmoid",
                                         [4.0, 0.0, 0.0], 0, False)
    assert torch.equal(s, s_ref) and torch.equal(v, v_ref) and h.numel() == 0
    lif = LinearChargeParams("lif", 1.0, 0.1, 2.0)
    with torch.no_grad():
        y, v = fn_of(LIAF_OP, "triton")(x, v0, lif, torch.tanh, True, surrogates.Sigmoid())
        y_ref, v_ref = fn_of(LIAF_OP, "reference")(x, v0, lif, torch.tanh, True, surrogates.Sigmoid())
    assert torch.equal(y, y_ref) and torch.equal(v, v_ref)


def test_custom_ops_pass_opcheck():
    from jelly.neurons.backends.triton import klif_ops, liaf_ops

    torch.manual_seed(3)
    x = torch.randn(3, 2, 4, requires_grad=True)
    v0 = torch.randn(2, 4, requires_grad=True)
    k = torch.tensor(1.2, requires_grad=True)
    torch.library.opcheck(klif_ops.klif_forward_op,
                          (x, v0, k, 1.0, -0.2, True, 2.0, True, True, False, "ATan", [1.0, 3.14, 0.0], 0, True))
    torch.library.opcheck(liaf_ops.liaf_forward_op, (x, v0, 0.5, 0.0, False, 2.0, False, False, "Sigmoid",
                                                     [4.0, 0.0, 0.0], 0))
    h = torch.randn(3, 2, 4)
    torch.library.opcheck(liaf_ops.liaf_backward_op, (None, torch.randn(3, 2, 4), h, 0.5, 0.0, True, 2.0, True,
                                                      False, "Sigmoid", [4.0, 0.0, 0.0], 0))
    torch.library.opcheck(klif_ops.klif_backward_op, (torch.randn(3, 2, 4), None, h, torch.tensor(1.2), 1.0, 0.0,
                                                      False, 2.0, True, True, False, "ATan", [1.0, 3.14, 0.0], 0,
                                                      True))


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`-wrapped function")
def test_torch_compile_traces_the_ops_without_graph_breaks():
    # the backend functions themselves (the registry's lazy loader is not traced here)
    from jelly.neurons.backends.triton.klif_ops import klif_multistep_triton
    from jelly.neurons.backends.triton.liaf_ops import liaf_multistep_triton

    torch.manual_seed(4)
    x, v0 = torch.rand(4, 2, 3) * 2, torch.rand(2, 3) * 0.5
    klif = KLIFParams(2.0, True, True, 1.0, None)
    lif = LinearChargeParams("lif", 1.0, -0.1, 2.0)

    def run_klif_op(fn, x, k):
        spike, v = fn(x, v0, k, klif, surrogates.ATan())
        return spike.sum() + (v * v).sum()

    def run_liaf_op(fn, x, k):
        y, v = fn(x * k, v0, lif, torch.tanh, True, surrogates.Sigmoid())
        return y.sum() + (v * v).sum()

    for run, fast, slow in ((run_klif_op, klif_multistep_triton, fn_of(KLIF_OP, "reference")),
                            (run_liaf_op, liaf_multistep_triton, fn_of(LIAF_OP, "reference"))):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ka, kb = torch.tensor(1.2, requires_grad=True), torch.tensor(1.2, requires_grad=True)
        compiled = torch.compile(lambda x, k, run=run, fast=fast: run(fast, x, k), fullgraph=True,
                                 backend="aot_eager")
        loss, loss_ref = compiled(xa, ka), run(slow, xb, kb)
        close(loss, loss_ref, 1e-6, "loss")
        loss.backward()
        loss_ref.backward()
        close(xa.grad, xb.grad, 1e-5, "x.grad")
        close(ka.grad, kb.grad, 1e-5, "k.grad")


def test_unsupported_surrogates_and_arguments_raise_clearly():
    x, v0, k = torch.rand(2, 3), torch.zeros(3), torch.tensor(1.0)
    klif, liaf = fn_of(KLIF_OP, "triton"), fn_of(LIAF_OP, "triton")
    lif = LinearChargeParams("lif")

    class Custom(surrogates.ATan):
        pass

    for surrogate, message in ((surrogates.PoissonPass(), "PoissonPass has no Triton derivative.*backend='torch'"),
                               (Custom(), "Custom has no Triton derivative")):
        with pytest.raises(BackendUnavailableError, match=message):
            klif(x, v0, k, KLIFParams(), surrogate)
        with pytest.raises(BackendUnavailableError, match=message):
            liaf(x, v0, lif, torch.tanh, True, surrogate)
    for op in (KLIF_OP, LIAF_OP):
        with pytest.raises(BackendUnavailableError, match="PoissonPass has no Triton derivative"):
            resolve(op, "triton", x, surrogate_function=surrogates.PoissonPass())
        assert resolve(op, "auto", x, surrogate_function=surrogates.PoissonPass()).backend != "triton"
    with pytest.raises(BackendUnavailableError, match="float64"):
        klif(x.double(), v0.double(), k, KLIFParams(), surrogates.ATan())
    with pytest.raises(ValueError, match="v_init"):
        klif(x, torch.zeros(4), k, KLIFParams(), surrogates.ATan())
    with pytest.raises(ValueError, match="one-element"):
        klif(x, v0, torch.ones(2), KLIFParams(), surrogates.ATan())
    with pytest.raises(ValueError, match="v_init"):
        liaf(x, torch.zeros(4), lif, torch.tanh, True, surrogates.ATan())
    with pytest.raises(ValueError, match="kind must be 'lif'"):
        liaf(x, v0, LinearChargeParams("if"), torch.tanh, True, surrogates.ATan())
