"""The ``cupy`` backend: fused CUDA C++ kernels compiled at run time with NVRTC.

One launch runs the forward over all ``T`` steps and one runs the backward through time,
for IF, LIF, PLIF (with the gradient of ``w``), QIF, EIF, LIAF, KLIF (with the gradient of
``k``), CUBA-LIF, Izhikevich, CLIF and GatedLIF (with the gradients of its seven gates and
its conductances, scalar or per channel), with hard or soft reset, ``detach_reset``, every
surrogate of :mod:`jelly.surrogates` that has a CUDA functor, and float32, float16 and
bfloat16 tensors (computed in float32). The kernels are ``torch.library.custom_op`` s
(:mod:`.single_state`, :mod:`.multi_state`, :mod:`.gated_lif`), launched on PyTorch's
current stream with tensors passed by address (no copies).

Importing this package registers the backend (priority 20, CUDA tensors only) and imports
neither CuPy nor the kernels; they load on first use. Install with
``pip install "jelly-neurons[cupy]"`` (``cupy-cuda12x``; take ``cupy-cuda13x`` for a CUDA 13
build of PyTorch). :func:`~.availability.check` says precisely what is missing.
"""

from __future__ import annotations

from ..registry import register
from .availability import check

PRIORITY = 20
_NOTES = "fused CUDA kernels (NVRTC via CuPy): one launch for the forward over T, one for BPTT"
# registry op -> implementation in .ops
_OPS = {
    "linear_charge_multistep": "linear_charge_multistep",
    "qif_multistep": "qif_multistep",
    "eif_multistep": "eif_multistep",
    "liaf_multistep": "liaf_multistep",
    "cuba_lif_multistep": "cuba_lif_multistep",
    "izhikevich_multistep": "izhikevich_multistep",
    "clif_multistep": "clif_multistep",
    "klif_multistep": "klif_multistep",
    "gated_lif_multistep": "gated_lif_multistep",
}


def _lazy(name: str):
    """A wrapper importing :mod:`.ops` (and with it the custom ops) on first call."""

    def run(*args, **kwargs):
        from . import ops  # a statement, not importlib: torch.compile traces it

        return getattr(ops, name)(*args, **kwargs)

    run.__name__ = f"{name}_cupy"
    run.__qualname__ = run.__name__
    run.__doc__ = f"``{name}`` with the fused CuPy kernels (see :mod:`jelly.neurons.backends.cupy.ops`)."
    return run


for _op, _impl in _OPS.items():
    register(_op, "cupy", devices=("cuda",), check=check, priority=PRIORITY, notes=_NOTES)(_lazy(_impl))

__all__ = ["PRIORITY", "check"]
