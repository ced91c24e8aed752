"""Whether the Triton backend can run, without importing Triton.

:func:`triton_problem` is the registry ``check`` of every Triton op: it looks at the
installation, the tensor's device and dtype, and returns ``None`` or a message that says
what is missing and the command that fixes it. :func:`load_triton` imports Triton on first
use and turns a broken installation into the same kind of message.
"""

from __future__ import annotations

import importlib.util
import os

import torch

from ..registry import BackendUnavailableError

__all__ = ["INSTALL_HINT", "SUPPORTED_DTYPES", "interpreter_requested", "load_triton", "triton_problem"]

#: The command that installs Triton next to this package.
INSTALL_HINT = 'pip install "jelly-neurons[triton]"'

#: I/O dtypes of the Triton kernels (they compute in float32 whatever the I/O dtype).
SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


_INSTALLED: bool | None = None


def _triton_installed() -> bool:
    """Whether ``triton`` can be found (looked up once; no import)."""
    global _INSTALLED
    if _INSTALLED is None:
        _INSTALLED = importlib.util.find_spec("triton") is not None
    return _INSTALLED


def interpreter_requested() -> bool:
    """``True`` when ``TRITON_INTERPRET=1``: Triton kernels then run in its CPU interpreter."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def triton_problem(x: torch.Tensor, surrogate_function=None) -> str | None:
    """``None`` if the Triton kernels can run on ``x``, else why not and how to fix it.

    CUDA tensors need Triton installed (it comes with CUDA builds of PyTorch on Linux). CPU
    tensors are accepted only under ``TRITON_INTERPRET=1`` (Triton's slow CPU interpreter,
    meant for tests); note that ``backend='auto'`` then picks Triton for CPU tensors too.
    When the registry passes the neuron's ``surrogate_function`` (``resolve(...,
    surrogate_function=...)``), a surrogate without a Triton derivative is declined too;
    that look-up imports Triton, which happens only once the input itself is acceptable.
    """
    if not _triton_installed():
        return f"Triton is not installed; install it with: {INSTALL_HINT}"
    device = x.device.type
    if device == "cpu":
        if not interpreter_requested():
            return (
                "the Triton kernels run on CUDA tensors and got a CPU tensor; move the model and "
                "data to the GPU with .cuda(), or, for testing only, set TRITON_INTERPRET=1 before "
                "the first Triton call to run them in Triton's (slow) CPU interpreter"
            )
    elif device != "cuda":
        return f"the Triton kernels run on CUDA tensors, got a {device} tensor; move it with .cuda()"
    if x.dtype not in SUPPORTED_DTYPES:
        names = ", ".join(str(d).removeprefix("torch.") for d in SUPPORTED_DTYPES)
        return f"the Triton kernels take {names} tensors, got {x.dtype}; use backend='torch' for it"
    if surrogate_function is not None:
        return _surrogate_problem(surrogate_function)
    return None


def _surrogate_problem(surrogate_function) -> str | None:
    try:
        from jelly.surrogates.triton_derivatives import triton_derivative_problem
    except ImportError as error:
        return f"importing Triton failed ({error}); reinstall it with: {INSTALL_HINT}"
    return triton_derivative_problem(surrogate_function)


def load_triton() -> None:
    """Import Triton, raising :class:`BackendUnavailableError` with the fix if that fails."""
    try:
        import triton  # noqa: F401
        import triton.language  # noqa: F401
    except ImportError as error:
        raise BackendUnavailableError(
            f"backend 'triton' cannot run: importing Triton failed ({error}); reinstall it with: "
            f"{INSTALL_HINT} (its version must match your PyTorch build)"
        ) from error


def raise_if_problem(x: torch.Tensor) -> None:
    """Raise :class:`BackendUnavailableError` when :func:`triton_problem` finds one."""
    problem = triton_problem(x)
    if problem is not None:
        raise BackendUnavailableError(f"backend 'triton' cannot run: {problem}")
