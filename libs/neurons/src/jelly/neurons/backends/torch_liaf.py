r"""The ``torch`` backend of the LIAF neuron, and its registration.

LIAF is a LIF neuron with an analog output ``y[t] = act(h[t] (- v_th))``. The fused path
runs the LIF dynamics through the fused LIF op (``linear_charge_multistep``, backend
``'torch'``: one autograd node, saves ``h``), then recomputes every charged membrane at
once, ``h[t] = f(x[t], v[t-1])``, from the returned ``v_seq`` in one vectorised,
non-recurrent expression and applies ``act`` to it. Autograd carries the gradient of
``y`` into ``v_seq`` and from there through the fused LIF backward, so the result equals
the per-step reference. Memory: the LIF op's ``h`` plus what ``act`` saves (for most
activations its input, one value per element per step).
"""

from __future__ import annotations

from ..functional.integrate_fire import LinearChargeParams
from ..functional.liaf import liaf_charge_sequence, liaf_multistep_reference, liaf_output
from ._bptt_common import fusable
from .registry import register, resolve
from .torch_backends import LINEAR_CHARGE_OP

LIAF_OP = "liaf_multistep"


def liaf_multistep_torch(
    x_seq, v_init, params: LinearChargeParams, act, threshold_related, surrogate_function
):
    """Multi-step LIAF through the fused LIF op (the reference loop for a non-fusable surrogate).

    Returns:
        ``(y_seq, v_seq)``.
    """
    if not fusable(surrogate_function):
        return liaf_multistep_reference(x_seq, v_init, params, act, threshold_related, surrogate_function)
    lif = resolve(LINEAR_CHARGE_OP, "torch", x_seq).fn
    _, v_seq = lif(x_seq, v_init, params, surrogate_function)
    h_seq = liaf_charge_sequence(x_seq, v_init, v_seq, params)
    return liaf_output(h_seq, params.v_threshold, act, threshold_related), v_seq


register(LIAF_OP, "torch", priority=50, notes="fused LIF op, then act on all charged membranes at once")(
    liaf_multistep_torch
)
register(LIAF_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)")(
    liaf_multistep_reference
)
