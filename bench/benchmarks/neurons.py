"""Multi-step neuron speed and memory, per model, backend, T, size and dtype.

Workload: a neuron layer in ``step_mode='m'`` on an input ``[T, 64, size // 64]`` drawn
uniformly from ``[0, 1.5)`` (seeded, so about half the neurons fire), with

- ``time_forward``: the forward pass under ``torch.no_grad()`` (inference);
- ``time_forward_backward``: forward, then the gradients of ``<out, g>`` with respect to the
  input and every parameter (``torch.autograd.grad``, so nothing accumulates between calls);
- ``peakmem_forward_backward``: the process's peak resident memory after one forward+backward
  (asv runs each parameter combination in its own process; the baseline is the interpreter
  with torch imported, the same for every combination, so differences are the workload's);
- ``NeuronCoreCudaMemory.track_peak_bytes_forward_backward``: on CUDA,
  ``torch.cuda.max_memory_allocated`` of one forward+backward above what was allocated before
  (host RSS says nothing about GPU memory).

The backend parameter is ``device-backend``: CPU and CUDA tensors with each registered
backend (``jelly.neurons`` registry). Pairs that are not registered at the commit measured,
or cannot run here (no GPU, numba not installed), are skipped.
"""

from __future__ import annotations

import torch

from ._common import (
    DEVICE_BACKENDS,
    dtype_of,
    optional_import,
    preimport,
    set_threads,
    skip,
    split_device_backend,
    synchronize,
)
from ._common import uniform as _uniform

preimport("jelly.neurons", "jelly.surrogates")


def _warm_up_backends() -> None:
    """Run each CPU backend once on a tiny input in the process asv forks from.

    JIT backends compile (or load their on-disk cache) on the first call of a process;
    doing it here keeps compilation out of every forked child's wall time and, above all,
    out of its peak memory (``peakmem_`` would otherwise measure the compiler).
    """
    try:
        from jelly import neurons
    except ImportError:
        return
    x = torch.rand(2, 2, 3)
    for model in CORE_MODELS:
        for backend in ("torch", "reference", "numba"):
            try:
                node = getattr(neurons, model)(step_mode="m", backend=backend)
                xg = x.clone().requires_grad_()
                torch.autograd.grad(node(xg).sum(), xg)
            except Exception:  # noqa: BLE001 - a backend that cannot run is reported by setup
                pass

BATCH = 64
CORE_MODELS = ("LIFNode", "IFNode", "ParametricLIFNode")
ZOO_MODELS = (
    "IzhikevichNode",
    "QIFNode",
    "EIFNode",
    "KLIFNode",
    "LIAFNode",
    "CUBALIFNode",
    "ComplementaryLIFNode",
    "GatedLIFNode",
    "NonSpikingLIFNode",
    "PSN",
    "MaskedPSN",
    "SlidingPSN",
)


_warm_up_backends()

def _build(neurons, model: str, T: int):
    """A fresh multi-step neuron of class ``model`` with its default hyper-parameters."""
    cls = getattr(neurons, model, None)
    if cls is None:
        skip(f"jelly.neurons.{model} does not exist at this commit")
    extra = {
        "LIAFNode": {"act": torch.relu, "threshold_related": True},
        "GatedLIFNode": {"T": T},
        "PSN": {"T": T},
        "MaskedPSN": {"k": 2, "T": T},
        "SlidingPSN": {"k": 2},
    }.get(model, {})
    return cls(step_mode="m", **extra)


class _NeuronCase:
    """Builds the neuron and input of one parameter combination (shared by the classes)."""

    timeout = 120

    def _prepare(self, model: str, device_backend: str, T: int, size: int, dtype_name: str = "float32") -> None:
        set_threads()
        device, backend = split_device_backend(device_backend)
        neurons = optional_import("jelly.neurons")
        node = _build(neurons, model, T)
        supported = getattr(node, "supported_backends", None)
        if supported is None:  # plain-torch neurons without a backend choice (the PSN family)
            if backend != "torch":
                skip(f"{model} has no backends; it is measured under 'torch' only")
        else:
            if backend not in supported:
                skip(f"{model} has no backend {backend!r} at this commit (has {supported})")
            node.backend = backend
        dtype = dtype_of(dtype_name)
        node = node.to(device=device, dtype=dtype)
        shape = (T, BATCH, size // BATCH)
        x = _uniform(shape, 0.0, 1.5, seed=0, dtype=dtype, device=device)
        if supported is not None:
            unavailable = getattr(neurons, "BackendUnavailableError", RuntimeError)
            try:
                node.describe(x)
            except unavailable as exc:
                skip(str(exc))
        self.node, self.device = node, device
        self.x = x
        self.x_grad = x.detach().requires_grad_()
        self.grad_out = _uniform(shape, -1.0, 1.0, seed=1, dtype=dtype, device=device)
        self.inputs = [self.x_grad, *[p for p in node.parameters() if p.requires_grad]]

    def _forward(self) -> None:
        with torch.no_grad():
            self.node(self.x)
        self.node.reset()
        synchronize(self.device)

    def _forward_backward(self) -> None:
        out = self.node(self.x_grad)
        torch.autograd.grad(out, self.inputs, self.grad_out)
        self.node.reset()
        synchronize(self.device)

    def _cuda_peak_bytes(self) -> int:
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        base = torch.cuda.memory_allocated(self.device)
        self._forward_backward()
        return torch.cuda.max_memory_allocated(self.device) - base


class NeuronCore:
    """LIF, IF and PLIF over every backend, T and size (float32)."""

    params = (CORE_MODELS, DEVICE_BACKENDS, (8, 32), (4096, 65536))
    param_names = ("model", "backend", "T", "size")
    timeout = 120
    repeat = (2, 6, 0.6)
    warmup_time = 0.05

    def setup(self, model, device_backend, T, size):
        self.case = _NeuronCase()
        self.case._prepare(model, device_backend, T, size)

    def time_forward(self, model, device_backend, T, size):
        self.case._forward()

    def time_forward_backward(self, model, device_backend, T, size):
        self.case._forward_backward()

    def peakmem_forward_backward(self, model, device_backend, T, size):
        self.case._forward_backward()



class NeuronCoreCudaMemory:
    """GPU memory of LIF, IF and PLIF forward+backward (CUDA parameters only)."""

    params = (CORE_MODELS, tuple(p for p in DEVICE_BACKENDS if p.startswith("cuda")), (8, 32), (4096, 65536))
    param_names = ("model", "backend", "T", "size")
    timeout = 120

    def setup(self, model, device_backend, T, size):
        self.case = _NeuronCase()
        self.case._prepare(model, device_backend, T, size)

    def track_peak_bytes_forward_backward(self, model, device_backend, T, size):
        return self.case._cuda_peak_bytes()

    track_peak_bytes_forward_backward.unit = "bytes"


class NeuronDtype:
    """The LIF neuron over every backend and floating dtype (T = 16, 16384 neurons)."""

    params = (DEVICE_BACKENDS, ("float32", "float64", "bfloat16", "float16"))
    param_names = ("backend", "dtype")
    timeout = 120
    repeat = (2, 6, 0.6)
    warmup_time = 0.05

    def setup(self, device_backend, dtype_name):
        self.case = _NeuronCase()
        self.case._prepare("LIFNode", device_backend, 16, 16384, dtype_name)

    def time_forward(self, device_backend, dtype_name):
        self.case._forward()

    def time_forward_backward(self, device_backend, dtype_name):
        self.case._forward_backward()


class NeuronZoo:
    """Every other neuron model (T = 16, 16384 neurons, float32) on its own backends."""

    params = (ZOO_MODELS, ("cpu-torch", "cpu-reference", "cuda-torch"))
    param_names = ("model", "backend")
    timeout = 120
    repeat = (2, 6, 0.6)
    warmup_time = 0.05

    def setup(self, model, device_backend):
        self.case = _NeuronCase()
        self.case._prepare(model, device_backend, 16, 16384)

    def time_forward_backward(self, model, device_backend):
        self.case._forward_backward()

    def peakmem_forward_backward(self, model, device_backend):
        self.case._forward_backward()
