"""Kernel sources, compile options and the cache of compiled CuPy modules.

The CUDA C++ lives in ``kernels/*.cu`` and ``kernels/*.cuh`` next to this file and in
``jelly/surrogates/cuda/surrogates.cuh``. A *variant* is one instantiation of the
templates: a source file plus the name expressions of its forward and backward kernels,
e.g. ``jelly::neurons::single_state_forward<jelly::neurons::LIF<true>,
jelly::neurons::HardReset, float, 4>``. Each variant is compiled once with NVRTC into a
``cupy.RawModule`` (CuPy also keeps the binary in its on-disk kernel cache) and kept for
the life of the process.

Only :func:`compiled_module` and :func:`launch` import CuPy; everything else (sources,
options, names) is plain Python, which is what the CPU-side NVRTC checks use.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from jelly.surrogates import cuda_sources

#: C++ spelling of the tensor dtypes the kernels take (they compute in float32).
CTYPES: dict[torch.dtype, str] = {
    torch.float32: "float",
    torch.float16: "__half",
    torch.bfloat16: "__nv_bfloat16",
}
#: Threads per block of every launch.
BLOCK = 256
#: Bytes per tensor and step a thread moves with one vector access when the layout allows.
VECTOR_BYTES = 16
#: Elements per thread for each C++ type: one 16-byte access per tensor and step.
WIDTHS = {"float": 4, "__half": 8, "__nv_bfloat16": 8}


def kernels_dir() -> Path:
    """The folder holding the ``.cu``/``.cuh`` sources (a plain folder of the installed package)."""
    path = Path(str(importlib.resources.files(__package__).joinpath("kernels")))
    if not path.is_dir():
        raise RuntimeError(
            f"the CUDA sources of jelly.neurons are not plain files at {path}; "
            "install jelly-neurons unzipped (a regular pip install)"
        )
    return path


def kernel_source(name: str) -> str:
    """The text of ``kernels/<name>`` (read with :mod:`importlib.resources`)."""
    return importlib.resources.files(__package__).joinpath("kernels", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def sources_digest() -> str:
    """A hash of every kernel source and header, passed as a ``-D`` option.

    CuPy keys its on-disk cache by the compiled text and the options; the headers reached
    through ``#include`` are not part of the text, so their hash goes into the options.
    """
    digest = hashlib.sha256()
    folder = importlib.resources.files(__package__).joinpath("kernels")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".cu", ".cuh")):
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    digest.update(cuda_sources.cuda_header_source().encode())
    return digest.hexdigest()[:16]


def _nvidia_wheel_include_dirs(cuda_major: int | None) -> list[Path]:
    """Header folders of NVIDIA's pip wheels (``nvidia/cu13/include``, ``nvidia/cuda_runtime/include``)."""
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return []
    found = []
    for base in map(Path, spec.submodule_search_locations):
        names = ([f"cu{cuda_major}"] if cuda_major else []) + ["cuda_runtime"]
        found += [base / name / "include" for name in names]
    return found


@functools.lru_cache(maxsize=8)
def cuda_include_dirs(cuda_major: int | None = None) -> list[str]:
    """Folders holding ``cuda_fp16.h``/``cuda_bf16.h`` for NVRTC, best match first.

    Searched: ``cuda.pathfinder`` (installed with CuPy 14), NVIDIA's header wheels for the
    given CUDA major version, ``$CUDA_PATH``/``$CUDA_HOME`` and ``/usr/local/cuda``. Only
    folders that hold ``cuda_fp16.h`` are returned (the first one is what NVRTC will use).
    """
    candidates: list[Path] = []
    try:
        from cuda.pathfinder import find_nvidia_header_directory

        located = find_nvidia_header_directory("cudart")
        if located:
            candidates.append(Path(located))
    except Exception:  # noqa: BLE001 - pathfinder is optional and may not know the layout
        pass
    candidates += _nvidia_wheel_include_dirs(cuda_major)
    for var in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]) / "include")
    candidates.append(Path("/usr/local/cuda/include"))
    result: list[str] = []
    for folder in candidates:
        if (folder / "cuda_fp16.h").is_file() and str(folder) not in result:
            result.append(str(folder))
    return result


def header_hint(cuda_major: int) -> str:
    """How to get ``cuda_fp16.h`` for NVRTC."""
    package = f"nvidia-cuda-runtime-cu{cuda_major}" if cuda_major < 13 else "nvidia-cuda-runtime"
    return f"pip install {package} (the CUDA {cuda_major} headers), or set CUDA_PATH to a CUDA {cuda_major} toolkit"


def compile_options(cuda_major: int | None = None) -> tuple[str, ...]:
    """NVRTC options of every variant (CuPy adds the target architecture and ``-ftz=true``).

    ``-fmad=false`` keeps each multiply and add separately rounded, as PyTorch's one-op
    kernels do, so that float32 forwards match the torch reference bit for bit.
    """
    includes = [kernels_dir(), cuda_sources.cuda_include_dir()]
    headers = cuda_include_dirs(cuda_major)[:1]
    return (
        "-std=c++17",
        "-fmad=false",
        *(f"-I{folder}" for folder in includes),
        *(f"-I{folder}" for folder in headers),
        f"-DJELLY_SOURCE_DIGEST=0x{sources_digest()}",
    )


@dataclass(frozen=True)
class Variant:
    """One instantiation of a kernel source.

    Attributes:
        source: file name under ``kernels/`` (e.g. ``'linear_charge.cu'``).
        names: C++ name expressions of the kernels to instantiate and fetch.
    """

    source: str
    names: tuple[str, ...]


def template_name(kernel: str, *arguments: object) -> str:
    """``jelly::neurons::<kernel><arg, ...>`` (booleans spelled ``true``/``false``)."""
    spelled = [("true" if a else "false") if isinstance(a, bool) else str(a) for a in arguments]
    return f"jelly::neurons::{kernel}<{', '.join(spelled)}>"


def widths(ctype: str, wide: bool = True, scalar: bool = True) -> tuple[int, ...]:
    """The vector widths compiled for ``ctype``: its 16-byte width and/or 1."""
    return ((WIDTHS[ctype],) if wide else ()) + ((1,) if scalar else ())


def vector_width(numel: int, width: int, *tensors: torch.Tensor | None) -> int:
    """``width`` if ``numel`` (elements per step) is a multiple of it and every tensor's
    address is aligned for ``width`` of its elements, else 1 (the scalar kernels)."""
    if numel % width:
        return 1
    for tensor in tensors:
        if tensor is not None and tensor.numel() and tensor.data_ptr() % (width * tensor.element_size()):
            return 1
    return width


def cupy_cuda_major() -> int:
    """Major CUDA version of the CuPy build (imports CuPy)."""
    import cupy

    return int(cupy.cuda.runtime.runtimeGetVersion()) // 1000


@functools.cache
def compiled_module(variant: Variant):
    """The ``cupy.RawModule`` of ``variant``, compiled on first use and kept.

    Raises:
        RuntimeError: NVRTC failed; the message holds the compiler log.
    """
    import cupy

    module = cupy.RawModule(
        code=kernel_source(variant.source),
        options=compile_options(cupy_cuda_major()),
        name_expressions=list(variant.names),
    )
    try:
        module.compile()
    except Exception as error:  # noqa: BLE001 - re-raised with the variant named
        raise RuntimeError(
            f"compiling {variant.source} for {variant.names} failed: {error}"
        ) from error
    return module


@functools.cache
def _function(variant: Variant, name: str, device_index: int):
    import cupy

    with cupy.cuda.Device(device_index):
        return compiled_module(variant).get_function(name)


def kernel(variant: Variant, name: str, device: torch.device | None = None):
    """The ``cupy.RawKernel`` called ``name`` of ``variant`` (kept per device)."""
    index = device.index if device is not None and device.index is not None else torch.cuda.current_device()
    return _function(variant, name, index)


def pointer(tensor: torch.Tensor | None):
    """A kernel argument holding the device address of ``tensor`` (null for ``None``)."""
    import numpy as np

    return np.uint64(0 if tensor is None else tensor.data_ptr())


def launch(function, threads: int, device: torch.device, args: tuple) -> int:
    """Launch ``function`` with ``threads`` threads on PyTorch's current stream of ``device``.

    Returns:
        The number of blocks launched.
    """
    import cupy

    blocks = max(1, -(-threads // BLOCK))
    index = device.index if device.index is not None else torch.cuda.current_device()
    stream = torch.cuda.current_stream(index).cuda_stream
    with cupy.cuda.Device(index), _external_stream(stream, index):
        function((blocks,), (BLOCK,), args)
    return blocks


@functools.lru_cache(maxsize=64)
def _external_stream(pointer_value: int, device_index: int):
    import cupy

    try:
        return cupy.cuda.ExternalStream(pointer_value, device_index)
    except TypeError:  # CuPy < 13 takes the pointer only
        return cupy.cuda.ExternalStream(pointer_value)


def nvrtc_ptx(variant: Variant, arch: str = "compute_90") -> tuple[str, dict[str, str]]:
    """Compile ``variant`` to PTX with NVRTC alone (no GPU or driver needed).

    Uses the options of :func:`compiled_module` plus CuPy's ``-ftz=true``, so that what
    compiles here is what CuPy compiles on a GPU. Used by the CPU-side checks.

    Returns:
        ``(ptx, lowered)``: the PTX text and the mangled name of every name expression.

    Raises:
        RuntimeError: the compilation failed; the message holds NVRTC's log.
    """
    from cupy.cuda import nvrtc

    major = nvrtc.getVersion()[0]
    options = [*compile_options(major), "-ftz=true", f"--gpu-architecture={arch}"]
    program = nvrtc.createProgram(kernel_source(variant.source), variant.source, [], [])
    try:
        for name in variant.names:
            nvrtc.addNameExpression(program, name)
        try:
            nvrtc.compileProgram(program, options)
        except nvrtc.NVRTCError as error:
            raise RuntimeError(f"NVRTC failed on {variant}: {error}\n{nvrtc.getProgramLog(program)}") from None
        lowered = {name: nvrtc.getLoweredName(program, name) for name in variant.names}
        ptx = nvrtc.getPTX(program)
    finally:
        nvrtc.destroyProgram(program)
    return (ptx.decode() if isinstance(ptx, bytes) else ptx), lowered
