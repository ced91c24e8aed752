"""Can the ``cupy`` backend run here? Precise reasons, and the command that fixes each.

:func:`check` is the registry's availability check of every op of the backend. It looks
at the tensor first (device, dtype) and then at the installation, importing CuPy only
when a CUDA tensor reaches it. Each probe is a small function so that tests can simulate
every failure (CuPy missing or broken, no GPU, CUDA version mismatch, NVRTC missing).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util

import torch

#: dtypes the kernels take (they compute in float32 and round what they store).
SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
INSTALL = 'pip install "jelly-neurons[cupy]"'


def _cupy_package_for(cuda_version: str | None) -> str:
    """The CuPy wheel matching a CUDA version string (``'12.8'`` -> ``cupy-cuda12x``)."""
    major = (cuda_version or "12").split(".")[0]
    return f"cupy-cuda{major}x"


def install_hint() -> str:
    """How to install CuPy for this PyTorch build."""
    package = _cupy_package_for(torch.version.cuda)
    return (
        f'{INSTALL} (it installs cupy-cuda12x), or pick the wheel that matches torch.version.cuda '
        f"= {torch.version.cuda!r}: pip install {package}"
    )


def torch_cuda_version() -> str | None:
    """``torch.version.cuda`` (``None`` for a CPU-only build)."""
    return torch.version.cuda


def gpu_available() -> bool:
    """Whether PyTorch sees a CUDA device."""
    return torch.cuda.is_available()


def cupy_installed() -> bool:
    """Whether a ``cupy`` package can be found (without importing it)."""
    return importlib.util.find_spec("cupy") is not None


def import_cupy():
    """Import and return CuPy (raises what the import raises)."""
    return importlib.import_module("cupy")


def cupy_cuda_version(cupy) -> int:
    """CUDA runtime version CuPy uses, as ``major * 1000 + minor * 10`` (e.g. ``12080``)."""
    return int(cupy.cuda.runtime.runtimeGetVersion())


def nvrtc_version(cupy) -> tuple[int, int]:
    """Version of the NVRTC library CuPy loads (raises if it cannot be loaded)."""
    return tuple(cupy.cuda.nvrtc.getVersion())


def cuda_headers_found(cuda_major: int) -> bool:
    """Whether NVRTC will find ``cuda_fp16.h`` (see :func:`.loader.cuda_include_dirs`)."""
    from .loader import cuda_include_dirs

    return bool(cuda_include_dirs(cuda_major))


def driver_version(cupy) -> int:
    """CUDA version the installed driver supports (``major * 1000 + minor * 10``)."""
    return int(cupy.cuda.runtime.driverGetVersion())


def _installation_problem() -> str | None:
    """What keeps CuPy from compiling and launching kernels here, or ``None``."""
    if not cupy_installed():
        return f"CuPy is not installed: {install_hint()}"
    try:
        cupy = import_cupy()
    except Exception as error:  # noqa: BLE001 - any import failure is reported as is
        return (
            f"CuPy is installed but fails to import ({type(error).__name__}: {error}); reinstall it "
            f"(pip uninstall cupy; {install_hint()})"
        )
    torch_cuda = torch_cuda_version()
    try:
        cupy_major = cupy_cuda_version(cupy) // 1000
    except Exception as error:  # noqa: BLE001
        return f"CuPy cannot load the CUDA runtime ({type(error).__name__}: {error}); {install_hint()}"
    if torch_cuda is not None and int(torch_cuda.split(".")[0]) != cupy_major:
        return (
            f"CUDA version mismatch: PyTorch is built for CUDA {torch_cuda} but CuPy for CUDA {cupy_major}; "
            f"pip uninstall cupy-cuda{cupy_major}x && pip install {_cupy_package_for(torch_cuda)}"
        )
    try:
        nvrtc_major = nvrtc_version(cupy)[0]
    except Exception as error:  # noqa: BLE001
        return (
            f"NVRTC (the CUDA runtime compiler CuPy needs) cannot be loaded ({type(error).__name__}: {error}); "
            f"pip install nvidia-cuda-nvrtc-cu{cupy_major} (or install the CUDA {cupy_major} toolkit)"
        )
    if nvrtc_major != cupy_major:
        return (
            f"NVRTC version mismatch: CuPy for CUDA {cupy_major} found NVRTC {nvrtc_major}; "
            f"pip install nvidia-cuda-nvrtc-cu{cupy_major}"
        )
    if not cuda_headers_found(nvrtc_major):
        from .loader import header_hint

        return f"cuda_fp16.h (needed to compile the kernels) was not found: {header_hint(nvrtc_major)}"
    try:
        driver = driver_version(cupy)
    except Exception as error:  # noqa: BLE001
        return f"the NVIDIA driver cannot be queried ({type(error).__name__}: {error}); check the driver install"
    if driver // 1000 < cupy_major:
        return (
            f"the NVIDIA driver supports CUDA {driver // 1000}.{driver % 1000 // 10}, older than CuPy's "
            f"CUDA {cupy_major}: update the driver, or install cupy-cuda{driver // 1000}x"
        )
    return None


@functools.lru_cache(maxsize=1)
def installation_problem() -> str | None:
    """:func:`_installation_problem`, probed once per process."""
    return _installation_problem()


def check(x: torch.Tensor, *args, surrogate_function=None, **kwargs) -> str | None:
    """``None`` if the ``cupy`` backend can run on ``x``, else why not and how to fix it.

    Args:
        x: the input sequence.
        surrogate_function: if given, also checked (it must have a CUDA functor).
        *args, **kwargs: the op's other arguments (ignored; accepted so that a registry
            passing them keeps working).
    """
    if torch_cuda_version() is None:
        return (
            "this PyTorch is a CPU-only build (torch.version.cuda is None): install a CUDA build of PyTorch "
            "(https://pytorch.org/get-started/locally/), or use backend='torch'"
        )
    if not gpu_available():
        return (
            "no CUDA GPU is visible to PyTorch (torch.cuda.is_available() is False): check the NVIDIA driver "
            "(nvidia-smi) and CUDA_VISIBLE_DEVICES, or use backend='torch'"
        )
    if x.device.type != "cuda":
        return f"got a {x.device.type} tensor; the cupy backend runs on CUDA tensors: move model and input with .cuda()"
    if x.dtype not in SUPPORTED_DTYPES:
        names = ", ".join(str(d).replace("torch.", "") for d in SUPPORTED_DTYPES)
        return f"dtype {str(x.dtype).replace('torch.', '')} is not supported by the cupy kernels ({names}); " \
               "convert the input (x.float()) or use backend='torch'"
    problem = installation_problem()
    if problem is not None:
        return problem
    if surrogate_function is not None:
        return surrogate_problem(surrogate_function)
    return None


def surrogate_problem(surrogate_function) -> str | None:
    """Why ``surrogate_function`` cannot run in the kernels (or ``None``)."""
    from jelly.surrogates.cuda_sources import UnsupportedSurrogateError, cuda_functor

    try:
        cuda_functor(surrogate_function)
    except UnsupportedSurrogateError as error:
        return f"{error}; use backend='torch'"
    return None
