"""Backends of the multi-step neuron ops and their registry."""

from . import (
    cupy,  # noqa: F401  (registers the CuPy backend; imports cupy lazily)
    numba_cpu,  # noqa: F401  (registers the fused CPU backends; imports numba lazily)
    torch_backends,  # noqa: F401  (registers the always-available backends)
    triton,  # noqa: F401  (registers the Triton backend; imports triton lazily)
)
from .autotune import autotune_records, clear_autotune, set_autotune
from .registry import BackendUnavailableError, Resolution, backends_of, register, resolve

__all__ = [
    "BackendUnavailableError",
    "Resolution",
    "autotune_records",
    "backends_of",
    "clear_autotune",
    "register",
    "resolve",
    "set_autotune",
]
