"""Pure functional neuron dynamics: single steps and multi-step reference loops.

These functions are the numerical truth every backend is tested against.
"""

from .integrate_fire import (
    LinearChargeParams,
    fire,
    if_charge,
    lif_charge,
    linear_charge,
    linear_charge_multistep_reference,
    linear_charge_step,
    neuronal_reset,
    plif_charge,
)

__all__ = [
    "LinearChargeParams",
    "fire",
    "if_charge",
    "lif_charge",
    "linear_charge",
    "linear_charge_multistep_reference",
    "linear_charge_step",
    "neuronal_reset",
    "plif_charge",
]

from . import parallel_spiking  # noqa: E402
from .parallel_spiking import (  # noqa: E402
    masked_psn_mask,
    masked_psn_weight,
    psn_membrane,
    psn_multistep,
    sliding_psn_weight,
)

__all__ += [
    "parallel_spiking",
    "masked_psn_mask",
    "masked_psn_weight",
    "psn_membrane",
    "psn_multistep",
    "sliding_psn_weight",
]
