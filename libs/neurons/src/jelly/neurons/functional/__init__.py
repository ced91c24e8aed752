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
