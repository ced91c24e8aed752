"""Backends of the multi-step neuron ops and their registry."""

from . import torch_backends  # noqa: F401  (registers the always-available backends)
from .registry import BackendUnavailableError, Resolution, backends_of, register, resolve

__all__ = ["BackendUnavailableError", "Resolution", "backends_of", "register", "resolve"]
