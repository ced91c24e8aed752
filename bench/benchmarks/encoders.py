"""Encoders: throughput of turning a batch of images into a spike train.

Workload: a batch of 64 MNIST-sized images (``[64, 1, 28, 28]``, seeded uniform in
``[0, 1)``, 50,176 values) encoded into ``T`` steps with each encoder's one-call API
(``encode``): the whole ``[T, 64, 1, 28, 28]`` train at once. Throughput is
``T * 50,176`` spikes (or ``T * 50,176 * 5`` for the Gaussian population code) divided by
the time.
"""

from __future__ import annotations

import torch

from ._common import device_of, optional_import, preimport, set_threads, skip, synchronize
from ._common import uniform as _uniform

preimport("jelly.encoders")

SHAPE = (64, 1, 28, 28)
ENCODERS = ("poisson", "latency-linear", "latency-log", "weighted-phase", "gaussian-tuning")


def _encoder_call(encoders, name: str, T: int, x: torch.Tensor):
    """A zero-argument callable encoding ``x`` into ``T`` steps with encoder ``name``."""

    def need(attr: str):
        cls = getattr(encoders, attr, None)
        if cls is None or not hasattr(cls, "encode"):
            skip(f"jelly.encoders.{attr}.encode does not exist at this commit")
        return cls

    if name == "poisson":
        enc = need("PoissonEncoder")()
        generator = torch.Generator(device=x.device).manual_seed(0)
        return lambda: enc.encode(x, T, generator=generator)
    if name.startswith("latency-"):
        enc = need("LatencyEncoder")(T, enc_function=name.split("-", 1)[1])
        return lambda: enc.encode(x)
    if name == "weighted-phase":
        enc = need("WeightedPhaseEncoder")(T)
        xw = x * (1.0 - 2.0**-T)  # the encodable range is [0, 1 - 2**-K]
        return lambda: enc.encode(xw)
    if name == "gaussian-tuning":
        if T < 2:
            skip("the Gaussian tuning-curve encoder needs T >= 2")
        enc = need("GaussianTuningCurveEncoder")(0.0, 1.0, 5, T).to(x.device)
        flat = x.flatten(1)
        return lambda: enc.encode(flat)
    raise ValueError(f"unknown encoder {name!r}")


class EncoderThroughput:
    """Every encoder of ``jelly.encoders`` for a short and a long spike train."""

    params = (ENCODERS, (8, 64), ("cpu", "cuda"))
    param_names = ("encoder", "T", "device")
    timeout = 60
    rounds = 1
    repeat = (3, 10, 0.5)
    warmup_time = 0.05

    def setup(self, name, T, device_name):
        set_threads()
        self.device = device_of(device_name)
        encoders = optional_import("jelly.encoders")
        x = _uniform(SHAPE, 0.0, 1.0, seed=0, device=self.device)
        self.call = _encoder_call(encoders, name, T, x)

    def time_encode(self, name, T, device_name):
        self.call()
        synchronize(self.device)
