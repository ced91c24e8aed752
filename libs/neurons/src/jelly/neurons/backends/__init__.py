"""Backends of the multi-step neuron ops and their registry."""

from . import (
    cupy,  # noqa: F401  (registers the CuPy backend; imports cupy lazily)
    numba_cpu,  # noqa: F401  (registers the fused CPU backends; imports numba lazily)
    torch_backends,  # noqa: F401  (registers the always-available backends)
    triton,  # noqa: F401  (registers the Triton backend; imports triton lazily)
)
from .registry import BackendUnavailableError, Resolution, backends_of, register, resolve

__all__ = ["BackendUnavailableError", "Resolution", "backends_of", "register", "resolve"]
