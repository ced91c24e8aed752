"""Surrogate spike functions: throughput of the spike and of its surrogate gradient.

Workload: ``2**20`` membrane values (``[1024, 1024]``) drawn uniformly from ``[-1, 1)``.

- ``time_spike``: ``s(x)`` without autograd (the Heaviside forward);
- ``time_spike_backward``: ``s(x)`` then ``d<s(x), g>/dx`` through autograd (what a
  neuron's backward pays per element);
- ``time_derivative``: ``s.derivative(x)``, the closed-form surrogate gradient alone.

Throughput is ``2**20`` elements divided by the time.
"""

from __future__ import annotations

import torch

from ._common import device_of, dtype_of, preimport, public_attr, set_threads, skip, synchronize
from ._common import uniform as _uniform

preimport("jelly.surrogates")

SHAPE = (1024, 1024)
SURROGATES = (
    "Sigmoid",
    "ATan",
    "SoftSign",
    "Erf",
    "PiecewiseExp",
    "QPseudoSpike",
    "SuperSpike",
    "NonzeroSignLogAbs",
    "SquarewaveFourierSeries",
    "PiecewiseQuadratic",
    "PiecewiseLeakyReLU",
    "Rect",
    "S2NN",
    "LogTailedReLU",
    "FakeNumericalGradient",
    "LeakyKReLU",
    "DeterministicPass",
    "PoissonPass",
)


class SurrogateThroughput:
    """Every surrogate of ``jelly.surrogates`` with its default hyper-parameters."""

    params = (SURROGATES, ("cpu", "cuda"), ("float32", "bfloat16"))
    param_names = ("surrogate", "device", "dtype")
    timeout = 60
    rounds = 1
    repeat = (3, 10, 0.5)
    warmup_time = 0.05

    def setup(self, name, device_name, dtype_name):
        set_threads()
        device = device_of(device_name)
        cls = public_attr("jelly.surrogates", name)
        try:
            self.surrogate = cls()
        except TypeError as exc:  # a surrogate without usable defaults
            skip(f"{name}() needs arguments: {exc}")
        dtype = dtype_of(dtype_name)
        self.device = device
        # PoissonPass reads its input as firing probabilities, so it gets [0, 1).
        low = 0.0 if name == "PoissonPass" else -1.0
        self.x = _uniform(SHAPE, low, 1.0, seed=0, dtype=dtype, device=device)
        self.x_grad = self.x.detach().requires_grad_()
        self.g = _uniform(SHAPE, -1.0, 1.0, seed=1, dtype=dtype, device=device)

    def time_spike(self, name, device_name, dtype_name):
        with torch.no_grad():
            self.surrogate(self.x)
        synchronize(self.device)

    def time_spike_backward(self, name, device_name, dtype_name):
        torch.autograd.grad(self.surrogate(self.x_grad), self.x_grad, self.g)
        synchronize(self.device)

    def time_derivative(self, name, device_name, dtype_name):
        with torch.no_grad():
            self.surrogate.derivative(self.x)
        synchronize(self.device)
