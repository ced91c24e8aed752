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

from . import clif, cuba_lif, gated_lif, izhikevich, klif, liaf, non_spiking, nonlinear_if  # noqa: E402
from .clif import clif_multistep_reference, clif_step  # noqa: E402
from .cuba_lif import CUBALIFParams, cuba_lif_multistep_reference, cuba_lif_step  # noqa: E402
from .gated_lif import GLIFGates, gated_lif_multistep_reference, gated_lif_step  # noqa: E402
from .izhikevich import IzhikevichParams, izhikevich_multistep_reference, izhikevich_step  # noqa: E402
from .klif import KLIFParams, klif_multistep_reference, klif_step  # noqa: E402
from .liaf import liaf_multistep_reference, liaf_step  # noqa: E402
from .non_spiking import decode_membrane, non_spiking_multistep_reference  # noqa: E402
from .nonlinear_if import (  # noqa: E402
    EIFParams,
    QIFParams,
    eif_multistep_reference,
    eif_step,
    qif_multistep_reference,
    qif_step,
)

__all__ += [
    "clif", "cuba_lif", "gated_lif", "izhikevich", "klif", "liaf", "non_spiking", "nonlinear_if",
    "clif_step", "clif_multistep_reference",
    "CUBALIFParams", "cuba_lif_step", "cuba_lif_multistep_reference",
    "GLIFGates", "gated_lif_step", "gated_lif_multistep_reference",
    "IzhikevichParams", "izhikevich_step", "izhikevich_multistep_reference",
    "KLIFParams", "klif_step", "klif_multistep_reference",
    "liaf_step", "liaf_multistep_reference",
    "decode_membrane", "non_spiking_multistep_reference",
    "QIFParams", "EIFParams", "qif_step", "eif_step", "qif_multistep_reference", "eif_multistep_reference",
]
