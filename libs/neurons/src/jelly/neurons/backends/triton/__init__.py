"""The ``triton`` backend: fused ``@triton.jit`` kernels for the multi-step neuron ops.

One launch runs the forward of all ``T`` steps and one the backward through time; each
program keeps a block of membranes in float32 registers and loops over the steps. I/O in
float32, float16 or bfloat16. Every op is a ``torch.library`` custom op with fake and
autograd registrations (see :mod:`.linear_charge_ops`), so ``torch.compile`` traces it.

Registered here for ``linear_charge_multistep`` (IF, LIF, PLIF), ``qif_multistep``,
``eif_multistep``, ``klif_multistep``, ``liaf_multistep``, ``cuba_lif_multistep``,
``clif_multistep``, ``izhikevich_multistep`` and ``gated_lif_multistep`` with priority 30
(the CuPy backend has 20, the torch one 50). Importing this package imports neither Triton
nor the kernels: they load on the first call.

The registry check (:func:`.availability.triton_problem`) declines, with the fix, when
Triton is missing, for tensors that are not on a CUDA device (CPU tensors are accepted
under ``TRITON_INTERPRET=1``, Triton's CPU interpreter, for tests), for dtypes other than
float32/float16/bfloat16, and, given the neuron's surrogate (``resolve(...,
surrogate_function=)``), for a surrogate without a Triton derivative (``PoissonPass``,
user classes, primitive mode). Called with such a surrogate anyway, the op raises
:class:`~jelly.neurons.backends.BackendUnavailableError`.
"""

from __future__ import annotations

import torch

from ...functional.integrate_fire import LinearChargeParams
from ...functional.nonlinear_if import EIFParams, QIFParams
from ..registry import register
from ..torch_backends import LINEAR_CHARGE_OP
from ..torch_nonlinear_if import EIF_OP, QIF_OP
from .availability import load_triton, triton_problem

__all__ = ["eif_multistep_triton", "linear_charge_multistep_triton", "qif_multistep_triton"]

#: Priority of the Triton backend under ``backend='auto'`` (lower runs first).
TRITON_PRIORITY = 30


def linear_charge_multistep_triton(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    params: LinearChargeParams,
    surrogate_function,
    w: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step IF/LIF/PLIF with the Triton kernels (loads Triton on first use).

    See :func:`.linear_charge_ops.linear_charge_multistep_triton` for the arguments.
    """
    load_triton()
    from .linear_charge_ops import linear_charge_multistep_triton as run

    return run(x_seq, v_init, params, surrogate_function, w)


def qif_multistep_triton(
    x_seq: torch.Tensor, v_init: torch.Tensor, params: QIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step QIF with the Triton kernels (see :mod:`.nonlinear_if_ops`)."""
    load_triton()
    from .nonlinear_if_ops import qif_multistep_triton as run

    return run(x_seq, v_init, params, surrogate_function)


def eif_multistep_triton(
    x_seq: torch.Tensor, v_init: torch.Tensor, params: EIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step EIF with the Triton kernels (see :mod:`.nonlinear_if_ops`)."""
    load_triton()
    from .nonlinear_if_ops import eif_multistep_triton as run

    return run(x_seq, v_init, params, surrogate_function)


_NOTES = "fused Triton kernels, one launch forward and one backward (CPU only under TRITON_INTERPRET=1)"
for _op, _fn in (
    (LINEAR_CHARGE_OP, linear_charge_multistep_triton),
    (QIF_OP, qif_multistep_triton),
    (EIF_OP, eif_multistep_triton),
):
    register(_op, "triton", devices=("cpu", "cuda"), check=triton_problem, priority=TRITON_PRIORITY, notes=_NOTES)(
        _fn
    )

#: The other models: registry op -> function of :mod:`.zoo_ops` (loaded on the first call).
_ZOO_OPS = {
    "klif_multistep": "klif_multistep_triton",
    "liaf_multistep": "liaf_multistep_triton",
    "cuba_lif_multistep": "cuba_lif_multistep_triton",
    "clif_multistep": "clif_multistep_triton",
    "izhikevich_multistep": "izhikevich_multistep_triton",
    "gated_lif_multistep": "gated_lif_multistep_triton",
}


def _lazy(name: str):
    """A wrapper that loads Triton and :mod:`.zoo_ops` (with its custom ops) on the first call.

    The import is a statement, not ``importlib``: ``torch.compile`` traces it.
    """

    def run(*args, **kwargs):
        load_triton()
        from . import zoo_ops

        return getattr(zoo_ops, name)(*args, **kwargs)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"``{name}`` with the fused Triton kernels (see :mod:`jelly.neurons.backends.triton.zoo_ops`)."
    return run


for _op, _name in _ZOO_OPS.items():
    register(_op, "triton", devices=("cpu", "cuda"), check=triton_problem, priority=TRITON_PRIORITY, notes=_NOTES)(
        _lazy(_name)
    )
