"""Load Triton and every kernel of this backend in Triton's CPU interpreter (for tests).

Triton decides between compiling and interpreting when a ``@triton.jit`` function is
created, i.e. when Triton itself (its standard library is made of such functions) and the
kernel modules are first imported. :func:`load_interpreted` imports them with
``TRITON_INTERPRET=1`` and then restores the variable, so that a test module can run the
kernels on CPU tensors (the backend's check accepts CPU tensors only while
``TRITON_INTERPRET=1`` is set, which a test fixture does) without making ``backend='auto'``
pick the slow interpreter elsewhere in the same process.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil

import torch

__all__ = ["kernel_modules", "load_interpreted"]


def kernel_modules() -> list[str]:
    """Full names of this backend's kernel modules (every ``*_kernels`` module of the package)."""
    package = __name__.rpartition(".")[0]
    path = importlib.import_module(package).__path__
    return [f"{package}.{info.name}" for info in pkgutil.iter_modules(path) if info.name.endswith("_kernels")]


def load_interpreted() -> str | None:
    """Import Triton and every kernel module in interpreter mode.

    Returns:
        ``None`` on success, else why the kernels cannot be interpreted in this process
        (Triton missing, a GPU present without ``TRITON_INTERPRET=1``, or Triton already
        imported in compiled mode).
    """
    if importlib.util.find_spec("triton") is None:
        return "triton is not installed"
    if torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        return "a GPU is present: the compiled Triton kernels are checked by bench/gpu_check.py"
    previous = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        import triton.language as tl

        modules = [importlib.import_module(name) for name in kernel_modules()]
    finally:
        if previous is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = previous
    jitted = [tl.standard.zeros] + [
        value for module in modules for value in vars(module).values() if type(value).__name__.endswith("JITFunction")
        or type(value).__name__ == "InterpretedFunction"
    ]
    for fn in jitted:
        if type(fn).__name__ != "InterpretedFunction":
            return "Triton was imported in compiled mode before this module (TRITON_INTERPRET unset)"
    return None
