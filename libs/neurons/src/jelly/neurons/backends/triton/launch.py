"""Launch helpers shared by the Triton ops: block sizes, device guard, surrogate arguments.

Imported only after Triton (see :func:`.availability.load_triton`).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import triton

from jelly.surrogates.triton_derivatives import triton_derivative_of, triton_derivative_problem

from ..registry import BackendUnavailableError

__all__ = [
    "BLOCK_CUDA",
    "NUM_WARPS_CUDA",
    "block_size",
    "check_kernel_mode",
    "device_guard",
    "flat_steps",
    "launch_options",
    "launch_per_block",
    "reciprocal_f32",
    "saved_h_guard",
    "surrogate_arguments",
    "tau_argument",
    "threshold_neighbours",
]

#: Elements per program on CUDA, and warps per program (8 elements per thread).
BLOCK_CUDA = 1024
NUM_WARPS_CUDA = 4
#: Largest block in the CPU interpreter (bigger blocks mean fewer, vectorised programs).
_BLOCK_INTERPRETER = 1 << 14


def block_size(numel: int, device: torch.device) -> int:
    """Elements per program for a step of ``numel`` elements on ``device``."""
    if device.type == "cuda":
        return BLOCK_CUDA
    return max(16, min(_BLOCK_INTERPRETER, 1 << max(0, numel - 1).bit_length()))


def device_guard(x: torch.Tensor):
    """Make ``x``'s GPU the current one for the launch (Triton launches on the current device)."""
    if x.device.type == "cuda":
        return torch.cuda.device(x.device)
    return contextlib.nullcontext()


def check_kernel_mode(kernel, x: torch.Tensor) -> None:
    """Refuse CPU tensors when the kernels were compiled for the GPU (not interpreted).

    Triton decides between compiling and interpreting when a ``@triton.jit`` function is
    created, i.e. when the kernel module is first imported.
    """
    interpreted = type(kernel).__name__ == "InterpretedFunction"
    if x.device.type == "cpu" and not interpreted:
        raise BackendUnavailableError(
            "backend 'triton' cannot run: its kernels were loaded for the GPU (TRITON_INTERPRET was not 1 "
            "when they were first imported), so they cannot take CPU tensors in this process; set "
            "TRITON_INTERPRET=1 before the first Triton call, or move the tensors to the GPU"
        )


def flat_steps(x_seq: torch.Tensor) -> tuple[int, int]:
    """``(T, N)`` of a ``[T, N, *]`` tensor: steps and elements per step."""
    steps = x_seq.shape[0]
    return steps, (x_seq[0].numel() if steps else 0)


def launch_options(x: torch.Tensor) -> dict:
    """Extra launch keywords for ``x``'s device: ``num_warps`` on CUDA, nothing in the interpreter."""
    return {"num_warps": NUM_WARPS_CUDA} if x.device.type == "cuda" else {}


def launch_per_block(kernel, x: torch.Tensor, numel: int, *args, fp_fusion: bool, block: int | None = None,
                     **constexprs) -> None:
    """Launch ``kernel`` with one program per ``BLOCK`` elements of a step, on ``x``'s GPU.

    ``block`` defaults to :func:`block_size` (pass it when buffers were sized per program).
    ``fp_fusion=False`` for the forward kernels (no FMA contraction: they reproduce the
    reference's rounding), ``True`` for the backward ones.
    """
    block = block or block_size(numel, x.device)
    with device_guard(x):
        kernel[(triton.cdiv(numel, block),)](*args, **constexprs, BLOCK=block, enable_fp_fusion=fp_fusion,
                                              **launch_options(x))


def saved_h_guard(need_h: bool, v_threshold: float, dtype: torch.dtype) -> tuple[bool, float, float]:
    """Whether a saved 16-bit ``h`` needs the threshold guard, and the two neighbours it uses
    (see :func:`threshold_neighbours`; zeros when no guard is needed)."""
    guard = need_h and dtype != torch.float32
    below, above = threshold_neighbours(v_threshold, dtype) if guard else (0.0, 0.0)
    return guard, below, above


def tau_argument(value: float, cuda: bool) -> float:
    """What the kernels get for a division by ``value``: its float32 reciprocal on CUDA, else ``value``.

    PyTorch's CUDA ``div`` by a Python scalar multiplies by ``float32(1 / value)``; its CPU
    ``div`` divides (the kernels' ``RECIPROCAL`` constexpr picks the matching operation).
    """
    return reciprocal_f32(value) if cuda else float(value)


def reciprocal_f32(value: float) -> float:
    """``float32(1 / float32(value))``, the factor PyTorch's CUDA ``div`` by a Python scalar uses."""
    return float(np.float32(1.0) / np.float32(value))


def threshold_neighbours(v_threshold: float, dtype: torch.dtype) -> tuple[float, float]:
    """The largest value of ``dtype`` below ``v_th`` and the smallest at or above it.

    ``v_th`` is compared as float32, as in the kernels. Used to keep a saved membrane that
    rounds to ``dtype`` on the same side of the threshold as the float32 value.
    """
    v_th = torch.tensor(v_threshold, dtype=torch.float32)
    rounded = v_th.to(dtype)
    inf = torch.tensor(float("inf"), dtype=dtype)
    above = rounded if float(rounded) >= float(v_th) else torch.nextafter(rounded, inf)
    below = rounded if float(rounded) < float(v_th) else torch.nextafter(rounded, -inf)
    return float(below), float(above)


def surrogate_arguments(surrogate_function) -> tuple[str, list[float], int]:
    """``(name, [p0, p1, p2], order)`` of the surrogate's Triton derivative (op arguments).

    Raises:
        BackendUnavailableError: the surrogate has no Triton form; the message names the
            supported ones and the fallback.
    """
    problem = triton_derivative_problem(surrogate_function)
    if problem is not None:
        raise BackendUnavailableError(f"backend 'triton' cannot run: {problem}")
    derivative = triton_derivative_of(surrogate_function)
    return derivative.name, list(derivative.scalars), derivative.order
