"""Registration of the pure-PyTorch implementations (available on every device)."""

from __future__ import annotations

from ..functional.integrate_fire import linear_charge_multistep_reference
from .registry import register
from .torch_bptt import linear_charge_multistep_torch

LINEAR_CHARGE_OP = "linear_charge_multistep"


def _reference(x_seq, v_init, params, surrogate_function, w=None):
    import torch

    k = torch.sigmoid(w) if w is not None else None
    return linear_charge_multistep_reference(x_seq, v_init, params, surrogate_function, k)


register(LINEAR_CHARGE_OP, "torch", priority=50,
         notes="one autograd node per layer, hand-written BPTT over the saved h")(linear_charge_multistep_torch)
register(LINEAR_CHARGE_OP, "reference", priority=1000,
         notes="plain per-step autograd loop (numerical reference)")(_reference)
