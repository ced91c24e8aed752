"""Registration of the Gated LIF (GLIF) multi-step op.

Only the ``'reference'`` per-step autograd loop is registered: GLIF's seven gate
parameters (scalar or per channel) and its per-step conductance make a hand-written
backward a larger piece of work that has not been done yet, and no fused path is
registered without a test against the reference.
"""

from __future__ import annotations

from ..functional.gated_lif import gated_lif_multistep_reference
from .registry import register

GATED_LIF_OP = "gated_lif_multistep"

register(
    GATED_LIF_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)"
)(gated_lif_multistep_reference)
