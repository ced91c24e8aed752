r"""The ``numba`` backends: multi-step IF/LIF/PLIF as fused, parallel CPU kernels.

Install with ``pip install "jelly-neurons[cpu]"`` (adds numba). Numba is imported on the
first call, never at package import; the kernels are compiled once per dtype and cached
on disk (``cache=True``). Each kernel runs the whole time loop per element in compiled,
vectorised code (:mod:`jelly.neurons.backends.numba_kernels`); the elements are split into
equal ranges run at once on ``torch.get_num_threads()`` threads (the caller's and a small
pool; the kernels release the GIL).

Why threads and not ``numba.njit(parallel=True)`` with ``prange``: measured here, the same
kernels with ``prange`` took 1.5 times as long to compile (41 s against 28 s for float32
and float64 together: the callees are compiled again for the parallel region), numba's
threading layer is a second OpenMP/TBB runtime next to PyTorch's, whose spinning workers
compete for the same cores, and its scheduling is static, so one thread the OS delays
holds up the call. A small pool of ``nogil`` calls that claim ranges first come first
served has none of these costs and follows ``torch.set_num_threads``; calls under about
half a millisecond of work stay on the caller's thread (:data:`MIN_WORK_PER_THREAD`).

Two backends are registered for ``linear_charge_multistep`` (CPU, float32/float64):

* ``'numba'`` (priority 10, so ``'auto'`` picks it for CPU tensors when numba is installed):
  the forward saves the charged membrane ``h``: **one value per element per step** (in the
  input's dtype). Spikes, post-reset membranes and ``v[t-1]`` are recomputed from ``h`` in
  the backward. For PLIF with a trainable ``w`` it also keeps a copy of the initial
  membrane (one value per element, no time axis).
* ``'numba_recompute'`` (priority 15, so ``'auto'`` never prefers it to ``'numba'``): the
  forward saves **nothing per step of its own**: it keeps a reference to the input ``x``
  (no copy) and a copy of the initial membrane (one value per element), and the backward
  reruns the forward block by block into a ``[T, 512]`` scratch buffer per thread
  (bit-identical ``h``, so the gradients equal ``'numba'``'s exactly). This saves ``T × N``
  values whenever the input is kept alive anyway (a leaf input, a tensor the caller holds,
  a layer that saves its output for its own backward); when nothing else holds ``x`` it
  costs the same memory as ``'numba'`` (``x`` instead of ``h``), plus about one forward of
  compute in the backward. Select it with ``backend='numba_recompute'``.

Both write the forward outputs ``spike_seq`` and ``v_seq`` (``T × N`` each) and nothing
else; without gradients (``no_grad``, or no input requiring grad) nothing is saved.
Spikes and membranes are bit-identical to the per-step reference on the same input (same
operations, same order, same dtype); gradients are computed in float64 inside the kernel.

The surrogate derivative is evaluated inside the kernel, so only surrogates with a compiled
form run here (:data:`SUPPORTED_SURROGATES`, exact classes in spiking mode); for any other
the backends decline: ``'auto'`` falls back to ``'torch'`` and says why, an explicit
``backend='numba'`` raises :class:`~jelly.neurons.backends.registry.BackendUnavailableError`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from jelly import surrogates as sg

from ..functional.integrate_fire import LinearChargeParams
from .registry import BackendUnavailableError, register

LINEAR_CHARGE_OP = "linear_charge_multistep"
INSTALL_HINT = 'pip install "jelly-neurons[cpu]"'
DTYPES = (torch.float32, torch.float64)

SUPPORTED_SURROGATES = {
    sg.ATan: ("alpha",),
    sg.Sigmoid: ("alpha",),
    sg.PiecewiseQuadratic: ("alpha",),
    sg.SoftSign: ("alpha",),
    sg.Erf: ("alpha",),
    sg.PiecewiseExp: ("alpha",),
    sg.PiecewiseLeakyReLU: ("w", "c"),
    sg.Rect: ("alpha",),
    sg.QPseudoSpike: ("alpha",),
    sg.S2NN: ("alpha", "beta"),
    sg.LogTailedReLU: ("alpha",),
    sg.FakeNumericalGradient: ("alpha",),
    sg.LeakyKReLU: ("leak", "k"),
    sg.SquarewaveFourierSeries: ("n", "T_period"),
    sg.SuperSpike: ("alpha",),
    sg.NonzeroSignLogAbs: ("alpha",),
    sg.DeterministicPass: (),
}
"""Surrogate classes with a compiled derivative -> the attributes passed to the kernel."""

_CHARGE_MODE = {("if", True): 0, ("if", False): 0, ("lif", True): 1, ("plif", True): 2,
                ("lif", False): 3, ("plif", False): 4}


_NUMBA_FOUND: list[bool] = []  # filled on first use (a plain global: nothing for torch.compile to trace)
_KERNELS: list = []


def numba_installed() -> bool:
    """Whether numba can be imported (looked up once, without importing it)."""
    if not _NUMBA_FOUND:
        _NUMBA_FOUND.append(importlib.util.find_spec("numba") is not None)
    return _NUMBA_FOUND[0]


def surrogate_problem(surrogate_function) -> str | None:
    """``None`` if the numba kernels have this surrogate's derivative, else why not."""
    cls = type(surrogate_function)
    if cls not in SUPPORTED_SURROGATES:
        names = ", ".join(sorted(c.__name__ for c in SUPPORTED_SURROGATES))
        return (f"no compiled derivative for surrogate {cls.__name__} (supported: {names}); "
                "use backend='torch'")
    if getattr(surrogate_function, "spiking", True) is not True:
        return f"surrogate {cls.__name__} is in primitive mode (spiking=False); use backend='torch'"
    return None


def check_numba(x: torch.Tensor, surrogate_function=None, **context) -> str | None:
    """Registry check: ``None`` if the numba backends can run on ``x``, else why not and how to fix it."""
    if not numba_installed():
        return f"numba is not installed; {INSTALL_HINT}"
    if x.dtype not in DTYPES:
        return f"runs on float32/float64 tensors, got {x.dtype}; convert with x.float() or use backend='torch'"
    if surrogate_function is not None:
        return surrogate_problem(surrogate_function)
    return None


def _kernels():
    """The kernel module, imported (and numba with it) on first use."""
    if not _KERNELS:
        try:
            _KERNELS.append(importlib.import_module(".numba_kernels", __package__))
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise BackendUnavailableError(f"backend 'numba' cannot run: numba failed to import ({err}); "
                                          f"{INSTALL_HINT}") from err
    return _KERNELS[0]


_POOL: dict[tuple[int, int], ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
MIN_WORK_PER_THREAD = 1 << 19
"""Element-steps (about 0.5 ms of work) each extra thread must get: waking a pool thread
costs tens of µs on an idle machine, but up to a scheduler time slice (ms) on a busy one,
where small calls ran slower on two threads than on one (measured here)."""
MIN_WORK_PER_CHUNK = 1 << 16
"""Element-steps below which a range is not split further."""
CHUNKS_PER_THREAD = 4
"""Ranges per thread, claimed first come first served, so a thread the OS delays does less."""


def _pool(workers: int) -> ThreadPoolExecutor:
    """A thread pool of ``workers`` threads for this process (a forked child makes its own)."""
    key = (os.getpid(), workers)
    with _POOL_LOCK:
        pool = _POOL.get(key)
        if pool is None:
            _POOL.clear()  # pools of another size or of the parent process
            pool = _POOL[key] = ThreadPoolExecutor(workers, thread_name_prefix="jelly-numba")
        return pool


class _SharedRanges:
    """Element ranges of one kernel call, claimed one at a time by the caller and the helpers."""

    def __init__(self, kernel, args: tuple, ranges: list[tuple[int, int]]) -> None:
        self.kernel, self.args, self.ranges = kernel, args, ranges
        self.results: list = [None] * len(ranges)
        self.claimed = 0
        self.left = len(ranges)
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.done = threading.Event()

    def work(self) -> None:
        while True:
            with self.lock:
                index = self.claimed
                if index >= len(self.ranges):
                    return
                self.claimed += 1
            try:
                self.results[index] = self.kernel(*self.args, *self.ranges[index])
            except BaseException as err:  # re-raised in the caller's thread
                self.error = err
            with self.lock:
                self.left -= 1
                if self.left == 0:
                    self.done.set()


def _in_parallel(kernel, args: tuple, steps: int, elements: int, block: int) -> list:
    """Run ``kernel(*args, start, stop)`` over ``[0, elements)`` in ranges of whole blocks.

    Uses up to ``torch.get_num_threads()`` threads (the caller's and a pool's; the kernels
    release the GIL), fewer for small inputs; returns the kernels' results in range order.
    """
    blocks = -(-elements // block)
    work = steps * elements
    threads = max(1, min(torch.get_num_threads(), blocks, work // MIN_WORK_PER_THREAD))
    if threads == 1:
        return [kernel(*args, 0, elements)]
    chunks = max(threads, min(blocks, threads * CHUNKS_PER_THREAD, work // MIN_WORK_PER_CHUNK))
    per = -(-blocks // chunks) * block
    job = _SharedRanges(kernel, args, [(a, min(a + per, elements)) for a in range(0, elements, per)])
    pool = _pool(threads - 1)
    for _ in range(threads - 1):
        pool.submit(job.work)
    job.work()
    job.done.wait()
    if job.error is not None:
        raise job.error
    return job.results


def _as_2d(t: torch.Tensor, steps: int) -> np.ndarray:
    return t.detach().contiguous().view(steps, -1).numpy()


class _Setup:
    """Kernel arguments derived from the parameters (shared by forward and backward)."""

    def __init__(self, params: LinearChargeParams, surrogate_function, w: torch.Tensor | None, dtype) -> None:
        np_dtype = np.float32 if dtype == torch.float32 else np.float64
        self.hard = params.v_reset is not None
        if params.kind == "plif":
            if w is None:
                raise ValueError("PLIF needs its parameter w")
            c = float(torch.sigmoid(w.detach()).to(dtype))  # k = 1/τ, rounded as the reference rounds it
        else:
            c = params.tau if params.kind == "lif" else 1.0
        self.mode = _CHARGE_MODE[(params.kind, params.decay_input)]
        self.prm = np.array([params.v_threshold, params.v_reset if self.hard else 0.0, c, 1.0, 0.0], dtype=np_dtype)
        # float64 constants of the backward, from the dtype-rounded ones; h = a v + b x + const.
        v_th, v_r, c = (float(v) for v in self.prm[:3])
        if params.kind == "plif":
            a, b = 1.0 - c, (c if params.decay_input else 1.0)
        elif params.kind == "lif":
            a, b = 1.0 - 1.0 / c, (1.0 / c if params.decay_input else 1.0)
        else:
            a, b = 1.0, 1.0
        self.fprm = np.array([v_th, v_r, a, b, c], dtype=np.float64)
        self.plif_decay = params.kind == "plif" and params.decay_input
        self.detach = params.detach_reset
        names = SUPPORTED_SURROGATES[type(surrogate_function)]
        values = [float(getattr(surrogate_function, n)) for n in names] + [0.0] * (2 - len(names))
        self.code = _kernels().SURROGATE_CODES[type(surrogate_function).__name__]
        self.sp = np.array(values, dtype=np.float64)


def _flat_v_init(v_init: torch.Tensor, x_seq: torch.Tensor) -> np.ndarray:
    """The initial membrane as a contiguous ``[M]`` array of the input's dtype."""
    return v_init.detach().to(x_seq.dtype).expand(x_seq.shape[1:]).contiguous().view(-1).numpy()


def _forward(x_seq, v_init, setup: _Setup, save_h: bool):
    kernels = _kernels()
    steps = x_seq.shape[0]
    x = _as_2d(x_seq, steps)
    v0 = _flat_v_init(v_init, x_seq)
    spike_seq = torch.empty(x_seq.shape, dtype=x_seq.dtype)
    v_seq = torch.empty(x_seq.shape, dtype=x_seq.dtype)
    h_seq = torch.empty(x_seq.shape, dtype=x_seq.dtype) if save_h else torch.empty((1, 1), dtype=x_seq.dtype)
    args = (x, v0, setup.prm, setup.mode, setup.hard, spike_seq.view(steps, -1).numpy(),
            v_seq.view(steps, -1).numpy(), h_seq.view(h_seq.shape[0], -1).numpy(), save_h)
    _in_parallel(kernels.linear_charge_forward, args, steps, x.shape[1], kernels.BLOCK)
    return spike_seq, v_seq, h_seq


def _grad_rows(grad: torch.Tensor | None, dtype, steps: int, elements: int) -> np.ndarray:
    """An output gradient as a ``[T, M]`` array, or one ``[1, M]`` row read at every step.

    The single row is used when the gradient is ``None`` (zeros) or the same at every step
    (broadcast over time, e.g. from ``spikes.sum()``), which avoids materialising ``T × M``.
    """
    if grad is None:
        return np.zeros((1, elements), dtype=np.float32 if dtype == torch.float32 else np.float64)
    grad = grad.to(dtype)
    if steps > 1 and grad.stride(0) == 0:
        return _as_2d(grad[:1], 1)
    return _as_2d(grad, steps)


class NumbaLinearCharge(torch.autograd.Function):
    """Multi-step IF/LIF/PLIF through the numba kernels (one autograd node per call)."""

    @staticmethod
    def forward(ctx, x_seq, v_init, w, params: LinearChargeParams, surrogate_function, recompute: bool):
        setup = _Setup(params, surrogate_function, w, x_seq.dtype)
        spike_seq, v_seq, h_seq = _forward(x_seq, v_init, setup, save_h=not recompute)
        ctx.setup = setup
        ctx.recompute = recompute
        ctx.w_shape = None if w is None else (w.shape, w.dtype)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x_seq if recompute else h_seq)
        # v_init is read only to rerun the forward or for PLIF's dL/dk (v[t-1] at t = 0); a
        # private copy (one value per element) so that a v_init viewing an earlier v_seq
        # does not keep that whole sequence alive.
        needs_v0 = recompute or (w is not None and ctx.needs_input_grad[2])
        ctx.v0 = _flat_v_init(v_init, x_seq).copy() if needs_v0 else np.empty(0, dtype=setup.prm.dtype)
        return spike_seq, v_seq

    @staticmethod
    def backward(ctx, grad_spike, grad_v):
        (saved,) = ctx.saved_tensors
        setup: _Setup = ctx.setup
        shape, dtype = saved.shape, saved.dtype
        steps = shape[0]
        need_gk = ctx.w_shape is not None and ctx.needs_input_grad[2]
        if grad_spike is None and grad_v is None:
            return None, None, None, None, None, None
        kernels = _kernels()
        src = _as_2d(saved, steps)
        elements = src.shape[1]
        gs = _grad_rows(grad_spike, dtype, steps, elements)
        gv = _grad_rows(grad_v, dtype, steps, elements)
        grad_x = torch.empty(shape, dtype=dtype)
        grad_v0 = torch.empty(shape[1:], dtype=dtype)
        args = (src, ctx.v0, ctx.recompute, setup.mode, gs, gv, setup.prm, setup.fprm, setup.hard, setup.detach,
                setup.plif_decay, need_gk, setup.code, setup.sp, grad_x.view(steps, -1).numpy(),
                grad_v0.view(-1).numpy())
        grad_k = sum(_in_parallel(kernels.linear_charge_backward, args, steps, elements, kernels.BLOCK))
        grad_w = None
        if need_gk:
            k = float(setup.fprm[4])
            w_shape, w_dtype = ctx.w_shape
            grad_w = torch.tensor(grad_k * k * (1.0 - k), dtype=w_dtype).reshape(w_shape)
        grad_v_init = grad_v0 if ctx.needs_input_grad[1] else None
        return grad_x, grad_v_init, grad_w, None, None, None


def _run(x_seq, v_init, params, surrogate_function, w, recompute: bool, name: str):
    problem = check_numba(x_seq, surrogate_function)
    if problem is None and x_seq.device.type != "cpu":
        problem = f"runs on CPU tensors, got a {x_seq.device.type} tensor"
    if problem is not None:
        raise BackendUnavailableError(f"backend {name!r} cannot run: {problem}")
    wants_grad = torch.is_grad_enabled() and (
        x_seq.requires_grad or v_init.requires_grad or (w is not None and w.requires_grad)
    )
    if not wants_grad:
        spike_seq, v_seq, _ = _forward(x_seq, v_init, _Setup(params, surrogate_function, w, x_seq.dtype), False)
        return spike_seq, v_seq
    return NumbaLinearCharge.apply(x_seq, v_init, w, params, surrogate_function, recompute)


_DISABLED: dict = {}


def _opaque_to_dynamo(fn):
    """Run ``fn`` eagerly under ``torch.compile`` (numba code is opaque to Dynamo: one graph break per call).

    ``torch.compiler.disable`` is applied on the first call traced by ``torch.compile``, not
    at import: it imports ``torch._dynamo``, which imports Triton (a Triton imported that
    early can no longer be switched to its CPU interpreter, ``TRITON_INTERPRET=1``), and
    that costs about a second that eager users need not pay. Eager calls run ``fn`` directly.
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if not torch.compiler.is_compiling():  # a plain flag: importing nothing, safe to trace
            return fn(*args, **kwargs)
        disabled = _DISABLED.get(fn)
        if disabled is None:
            disabled = _DISABLED[fn] = torch.compiler.disable(fn)
        return disabled(*args, **kwargs)

    return run


@_opaque_to_dynamo
def linear_charge_multistep_numba(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    params: LinearChargeParams,
    surrogate_function,
    w: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step IF/LIF/PLIF in fused numba kernels; saves ``h`` (``[T, N, *]`` in and out).

    Raises:
        BackendUnavailableError: numba is missing, the input is not a CPU float32/float64
            tensor, or the surrogate has no compiled derivative.
    """
    return _run(x_seq, v_init, params, surrogate_function, w, False, "numba")


@_opaque_to_dynamo
def linear_charge_multistep_numba_recompute(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    params: LinearChargeParams,
    surrogate_function,
    w: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """As :func:`linear_charge_multistep_numba`, but saves only ``x`` and recomputes ``h`` in the backward."""
    return _run(x_seq, v_init, params, surrogate_function, w, True, "numba_recompute")


register(LINEAR_CHARGE_OP, "numba", devices=("cpu",), check=check_numba, priority=10,
         notes="fused numba kernels, parallel over elements; saves h")(linear_charge_multistep_numba)
register(LINEAR_CHARGE_OP, "numba_recompute", devices=("cpu",), check=check_numba, priority=15,
         notes="fused numba kernels; saves only x (by reference), recomputes h in the backward")(
    linear_charge_multistep_numba_recompute
)
