"""Jelly core: step modes, the stateful-module base, functional helpers and layers.

Porting from SpikingJelly::

    from jelly.core import layers as layer, functional
"""

from . import functional, layers
from ._version import __version__
from .base import (
    STEP_MODES,
    MemoryModule,
    StateShapeError,
    StepModeError,
    StepModule,
    check_sequence_input,
    check_step_mode,
)

__all__ = [
    "__version__",
    "functional",
    "layers",
    "STEP_MODES",
    "MemoryModule",
    "StateShapeError",
    "StepModeError",
    "StepModule",
    "check_sequence_input",
    "check_step_mode",
]
