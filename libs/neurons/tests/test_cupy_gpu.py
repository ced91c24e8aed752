"""GPU tests of the ``cupy`` backend against the torch reference (marked ``cuda``).

Skipped on machines without a CUDA GPU or without CuPy; run on a GPU machine with
``python -m pytest libs/neurons/tests/test_cupy_gpu.py -m cuda``. ``bench/gpu_check.py``
covers the full cross product; these are the focused checks: bit-exact float32 forwards,
gradients to tolerance, 16-bit inputs against the float32 reference, custom-op
registration (``opcheck``), ``torch.compile``, CUDA graphs, side streams and autocast.
"""

from __future__ import annotations

import itertools
import zlib

import pytest
import torch

from jelly import neurons, surrogates
from jelly.neurons.backends.registry import _REGISTRY
from jelly.neurons.functional.integrate_fire import LinearChargeParams
from jelly.neurons.functional.nonlinear_if import EIFParams, QIFParams

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

OPS = {
    "linear": "linear_charge_multistep",
    "qif": "qif_multistep",
    "eif": "eif_multistep",
}


@pytest.fixture(scope="module", autouse=True)
def cupy_ready():
    pytest.importorskip("cupy")
    from jelly.neurons.backends.cupy.availability import check

    problem = check(torch.zeros(1, device="cuda"))
    if problem:
        pytest.skip(problem)


def _fn(kind: str, backend: str):
    return _REGISTRY[OPS[kind]][backend].fn


def _call(kind, backend, x, v0, params, sg, w=None):
    fn = _fn(kind, backend)
    return fn(x, v0, params, sg, w) if kind == "linear" else fn(x, v0, params, sg)


def _run(kind, backend, x, v0, params, sg, w, grad_s, grad_v):
    x = x.detach().clone().requires_grad_(True)
    v0 = v0.detach().clone().requires_grad_(True)
    w = None if w is None else w.detach().clone().requires_grad_(True)
    s, v = _call(kind, backend, x, v0, params, sg, w)
    loss = (s.float() * grad_s).sum() + (0 if grad_v is None else (v.float() * grad_v).sum())
    loss.backward()
    grads = [x.grad.float(), v0.grad.float()] + ([w.grad.float()] if w is not None else [])
    return s.detach().float(), v.detach().float(), grads


LINEAR = [
    LinearChargeParams("if", 1.0, 0.0),
    LinearChargeParams("lif", 1.0, 0.0, tau=2.0),
    LinearChargeParams("lif", 1.0, -0.2, tau=3.0, decay_input=False),
    LinearChargeParams("plif", 1.0, 0.0),
    LinearChargeParams("plif", 0.8, 0.1, decay_input=False),
]
SURROGATES = [surrogates.ATan(), surrogates.Sigmoid(), surrogates.PiecewiseQuadratic(), surrogates.DeterministicPass()]


def _cases():
    for i, (params, soft, detach) in enumerate(itertools.product(LINEAR, (False, True), (False, True))):
        if soft:
            params = LinearChargeParams(params.kind, params.v_threshold, None, params.tau, params.decay_input)
        params = LinearChargeParams(params.kind, params.v_threshold, params.v_reset, params.tau, params.decay_input,
                                    detach)
        yield "linear", params, SURROGATES[i % len(SURROGATES)]
    for soft, detach in itertools.product((False, True), (False, True)):
        yield "qif", QIFParams(v_reset=None if soft else -0.1, detach_reset=detach), surrogates.ATan()
        yield "eif", EIFParams(v_reset=None if soft else -0.1, detach_reset=detach), surrogates.Sigmoid()


CASES = list(_cases())


def _inputs(seed, shape=(8, 4, 1000), scale=2.5):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    x = torch.rand(shape, generator=gen, device="cuda") * scale - 0.4
    v0 = torch.rand(shape[1:], generator=gen, device="cuda") * 0.3
    grad_s = torch.randn(shape, generator=gen, device="cuda")
    grad_v = torch.randn(shape, generator=gen, device="cuda")
    return x, v0, grad_s, grad_v


@pytest.mark.parametrize("shape", [(8, 4, 1000), (5, 3, 333)], ids=["vector4", "scalar"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_float32_matches_reference(case, shape):
    kind, params, sg = CASES[case]
    x, v0, grad_s, grad_v = _inputs(case, shape, 1.2 if kind != "linear" else 2.5)
    w = torch.tensor(-0.3, device="cuda") if kind == "linear" and params.kind == "plif" else None
    got = _run(kind, "cupy", x, v0, params, sg, w, grad_s, grad_v if case % 2 else None)
    ref = _run(kind, "reference", x, v0, params, sg, w, grad_s, grad_v if case % 2 else None)
    if kind == "linear":  # same float32 operations in the same order: bit for bit
        assert torch.equal(got[0], ref[0]) and torch.equal(got[1], ref[1])
    else:  # expf may round differently
        assert (got[0] != ref[0]).float().mean() < 1e-3
    for a, b in zip(got[2], ref[2]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("case", [0, 5, 9, 12, 21, 22])
def test_16bit_matches_float32_reference(case, dtype):
    kind, params, sg = CASES[case]
    x, v0, grad_s, grad_v = _inputs(100 + case, scale=1.2 if kind != "linear" else 2.5)
    x, v0 = x.to(dtype), v0.to(dtype)
    w = torch.tensor(-0.3, device="cuda") if kind == "linear" and params.kind == "plif" else None
    got = _run(kind, "cupy", x, v0, params, sg, w, grad_s, grad_v)
    ref = _run(kind, "reference", x.float(), v0.float(), params, sg, w, grad_s, grad_v)
    # the kernels compute in float32 from the rounded input: the same spikes, rounded membranes
    assert (got[0] != ref[0]).float().mean() < 1e-3
    tol = {"rtol": 2e-2, "atol": 2e-2} if dtype == torch.float16 else {"rtol": 8e-2, "atol": 8e-2}
    torch.testing.assert_close(got[1], ref[1].to(dtype).float(), **tol)
    for a, b in zip(got[2], ref[2]):
        torch.testing.assert_close(a, b, **tol)


def test_opcheck_forward_and_backward_ops():
    from jelly.neurons.backends.cupy import single_state as ss
    from jelly.surrogates.cuda_sources import cuda_functor

    spec = ss.linear_charge_spec(LinearChargeParams("plif", 1.0, 0.0))
    functor = cuda_functor(surrogates.ATan())
    x = torch.rand(4, 2, 64, device="cuda", requires_grad=True)
    v0 = torch.zeros(2, 64, device="cuda", requires_grad=True)
    k = torch.full((1,), 0.4, device="cuda", requires_grad=True)
    args = (x, v0, k, spec.source, spec.functor, list(spec.params), spec.reset, spec.v_threshold, spec.v_reset,
            functor.name, list(functor.params), spec.detach_reset, True)
    torch.library.opcheck(ss.single_state_forward, args)


def test_module_end_to_end_and_auto_measures_the_gpu_backends():
    from jelly.neurons.backends import autotune_records, clear_autotune

    clear_autotune()
    lif = neurons.LIFNode(step_mode="m")
    x = torch.rand(4, 8, 32, device="cuda")
    assert neurons.describe(lif, x).backend == "cupy"  # the priority choice until measured
    ref = neurons.LIFNode(step_mode="m", backend="reference")
    torch.testing.assert_close(lif(x), ref(x), rtol=0, atol=0)
    (record,) = [r for key, r in autotune_records().items() if key[0] == "linear_charge_multistep"]
    assert {"cupy", "torch"} <= set(record.times_ms), record.summary()
    chosen = neurons.describe(lif, x)
    assert chosen.backend == record.winner and "measured" in chosen.reason


def test_torch_compile_traces_the_custom_ops():
    from jelly.neurons.backends.cupy import single_state as ss
    from jelly.surrogates.cuda_sources import cuda_functor

    spec = ss.linear_charge_spec(LinearChargeParams("plif", 1.0, 0.0))
    functor = cuda_functor(surrogates.ATan())
    static = (spec.source, spec.functor, list(spec.params), spec.reset, spec.v_threshold, spec.v_reset, functor.name,
              list(functor.params), spec.detach_reset, True)

    def step(x, v0, w):
        k = torch.sigmoid(w).reshape(1)
        spikes, v_seq, _ = ss.single_state_forward(x, v0, k, *static)
        return (spikes * torch.arange(spikes.shape[-1], device=x.device)).sum() + v_seq.sum()

    compiled = torch.compile(step, fullgraph=True)
    x = torch.rand(6, 4, 128, device="cuda", requires_grad=True)
    v0 = torch.zeros(4, 128, device="cuda", requires_grad=True)
    w = torch.tensor(0.2, device="cuda", requires_grad=True)
    grads_compiled = torch.autograd.grad(compiled(x, v0, w), (x, v0, w))
    grads_eager = torch.autograd.grad(step(x, v0, w), (x, v0, w))
    for a, b in zip(grads_compiled, grads_eager):
        torch.testing.assert_close(a, b)


def test_torch_compile_of_a_module():
    lif = neurons.ParametricLIFNode(step_mode="m", backend="cupy").cuda()
    compiled = torch.compile(lif)
    x = torch.rand(6, 4, 128, device="cuda", requires_grad=True)
    out = compiled(x)
    out.sum().backward()
    grad_compiled, w_compiled = x.grad.clone(), lif.w.grad.clone()
    eager = neurons.ParametricLIFNode(step_mode="m", backend="cupy").cuda()
    x.grad = None
    out_eager = eager(x)
    out_eager.sum().backward()
    torch.testing.assert_close(out, out_eager)
    torch.testing.assert_close(grad_compiled, x.grad)
    torch.testing.assert_close(w_compiled, eager.w.grad)


def test_cuda_graph_capture():
    fn = _fn("linear", "cupy")
    params, sg = LinearChargeParams("lif", 1.0, 0.0), surrogates.ATan()
    x = torch.rand(8, 1024, device="cuda")
    v0 = torch.zeros(1024, device="cuda")
    fn(x, v0, params, sg)  # compile and load the kernel before capturing
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn(x, v0, params, sg)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        spikes, v_seq = fn(x, v0, params, sg)
    x.copy_(torch.rand_like(x))
    graph.replay()
    torch.cuda.synchronize()
    ref_s, ref_v = _fn("linear", "reference")(x, v0, params, sg)
    assert torch.equal(spikes, ref_s) and torch.equal(v_seq, ref_v)


def test_runs_on_the_current_side_stream():
    fn = _fn("linear", "cupy")
    params, sg = LinearChargeParams("lif", 1.0, 0.0), surrogates.ATan()
    x = torch.rand(16, 1 << 18, device="cuda")
    v0 = torch.zeros(1 << 18, device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        spikes, _ = fn(x, v0, params, sg)
        total = spikes.sum()  # same stream: ordered after the kernel
    torch.cuda.synchronize()
    assert total.item() == _fn("linear", "reference")(x, v0, params, sg)[0].sum().item()


def test_autocast_feeds_half_precision():
    conv = torch.nn.Conv1d(4, 4, 3, padding=1).cuda()
    lif = neurons.LIFNode(step_mode="m", backend="cupy")
    x = torch.rand(4, 2, 4, 16, device="cuda")
    with torch.autocast("cuda", dtype=torch.float16):
        y = conv(x.flatten(0, 1)).unflatten(0, (4, 2))
        out = lif(y)
    assert y.dtype == torch.float16 and out.dtype == torch.float16
    out.float().sum().backward()
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()


def test_unsupported_surrogate_is_refused_explicitly():
    from jelly.neurons.backends import BackendUnavailableError, resolve

    x = torch.rand(2, 3, device="cuda")
    with pytest.raises(BackendUnavailableError, match="PoissonPass"):
        resolve("linear_charge_multistep", "cupy", x, surrogate_function=surrogates.PoissonPass())
    assert resolve("linear_charge_multistep", "auto", x, surrogate_function=surrogates.PoissonPass()).backend != "cupy"


def _zoo(name: str, hard: bool, detach: bool):
    common = {"v_reset": 0.0 if hard else None, "surrogate_function": surrogates.ATan(), "detach_reset": detach,
              "step_mode": "m", "store_v_seq": True}
    return {
        "cuba": lambda: neurons.CUBALIFNode(**common),
        "izhikevich": lambda: neurons.IzhikevichNode(a=0.5, b=0.2, **common),
        "klif": lambda: neurons.KLIFNode(**common),
        "klif_scaled": lambda: neurons.KLIFNode(scale_reset=True, decay_input=False, **common),
        "liaf": lambda: neurons.LIAFNode(act=torch.relu, threshold_related=True, **common),
        "clif": lambda: neurons.ComplementaryLIFNode(surrogate_function=surrogates.ATan(), step_mode="m"),
    }[name]()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("hard,detach", [(True, False), (False, True)])
@pytest.mark.parametrize("name", ["cuba", "izhikevich", "klif", "klif_scaled", "liaf", "clif"])
def test_zoo_modules_match_reference(name, hard, detach, dtype):
    import copy

    module = _zoo(name, hard, detach).cuda()
    gen = torch.Generator(device="cuda").manual_seed(zlib.crc32(f"{name}{hard}{detach}".encode()))
    scale = 1.5 if name == "izhikevich" else 2.5
    x = (torch.rand(8, 4, 500, generator=gen, device="cuda") * scale - 0.4).to(dtype)
    grad = torch.randn(8, 4, 500, generator=gen, device="cuda")

    def run(backend, inp):
        m = copy.deepcopy(module)
        m.backend = backend
        inp = inp.detach().clone().requires_grad_(True)
        out = m(inp)
        (out.float() * grad).sum().backward()
        params = [p.grad.float() for p in m.parameters() if p.grad is not None]
        return out.detach().float(), inp.grad.float(), params

    out, gx, gp = run("cupy", x)
    ref_out, ref_gx, ref_gp = run("reference", x.float())
    flipped = (out != ref_out).reshape(8, -1).any(0) if name != "liaf" else torch.zeros(2000, dtype=torch.bool,
                                                                                           device="cuda")
    assert flipped.float().mean() < (1e-3 if dtype == torch.float32 else 1e-2)
    keep = ~flipped
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 2e-2, "atol": 2e-2}
    torch.testing.assert_close(out.reshape(8, -1)[:, keep], ref_out.reshape(8, -1)[:, keep], **tol)
    torch.testing.assert_close(gx.reshape(8, -1)[:, keep], ref_gx.reshape(8, -1)[:, keep], **tol)
    if not flipped.any():
        for a, b in zip(gp, ref_gp):
            torch.testing.assert_close(a, b, rtol=1e-3 if dtype == torch.float32 else 3e-2, atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("inplane,shape", [(None, (8, 4, 500)), (16, (8, 4, 16, 4, 4)), (3, (6, 2, 3, 7))],
                         ids=["layer", "channel-vector", "channel-scalar"])
@pytest.mark.parametrize("surrogate", [surrogates.Sigmoid(), surrogates.ATan()], ids=["Sigmoid", "ATan"])
def test_gated_lif_matches_reference(surrogate, inplane, shape, dtype):
    import copy

    steps = shape[0]
    gen = torch.Generator(device="cuda").manual_seed(zlib.crc32(f"glif{inplane}{shape}{surrogate}".encode()))
    module = neurons.GatedLIFNode(T=steps, inplane=inplane, surrogate_function=surrogate).cuda()
    with torch.no_grad():  # spread the gates (and per channel) away from their initial values
        for p in module.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=gen, device="cuda"))
    x = (torch.rand(shape, generator=gen, device="cuda") * 1.6 - 0.3).to(dtype)
    grad = torch.randn(shape, generator=gen, device="cuda")
    assert neurons.describe(module, x).backend == "cupy"

    def run(backend, inp):
        m = copy.deepcopy(module)
        m.backend = backend
        inp = inp.detach().clone().requires_grad_(True)
        out = m(inp)
        ((out.float() * grad).sum() + m.v.float().sum()).backward()
        params = [p.grad.float() for p in m.parameters()]
        return out.detach().float(), m.v.detach().float(), inp.grad.float(), params

    out, u_last, gx, gp = run("cupy", x)
    ref_out, ref_u_last, ref_gx, ref_gp = run("reference", x.float())
    assert out.sum() > 0 and (out == 0).any()
    flipped = (out != ref_out).reshape(steps, -1).any(0)
    assert flipped.float().mean() < (1e-3 if dtype == torch.float32 else 1e-2)
    keep = ~flipped
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 2e-2, "atol": 2e-2}
    torch.testing.assert_close(u_last.reshape(-1)[keep], ref_u_last.reshape(-1)[keep], **tol)
    torch.testing.assert_close(gx.reshape(steps, -1)[:, keep], ref_gx.reshape(steps, -1)[:, keep], **tol)
    if not flipped.any():
        for a, b in zip(gp, ref_gp):
            torch.testing.assert_close(a, b, rtol=1e-3 if dtype == torch.float32 else 3e-2, atol=1e-3)


def test_gated_lif_opcheck():
    from jelly.neurons.backends.cupy import gated_lif as glif
    from jelly.surrogates.cuda_sources import cuda_functor

    functor = cuda_functor(surrogates.ATan())
    x = torch.rand(4, 2, 3, 16, device="cuda", requires_grad=True)
    u0 = torch.zeros(2, 3, 16, device="cuda", requires_grad=True)
    s0 = torch.zeros(2, 3, 16, device="cuda", requires_grad=True)
    gates = torch.rand(7, 3, device="cuda", requires_grad=True)
    conduct = torch.rand(4, 3, device="cuda", requires_grad=True)
    torch.library.opcheck(glif.gated_lif_forward, (x, u0, s0, gates, conduct, 16, functor.name, list(functor.params)))
