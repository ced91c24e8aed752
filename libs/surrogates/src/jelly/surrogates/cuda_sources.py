"""The CUDA side of the surrogates: device functors in ``cuda/surrogates.cuh`` and their table.

Every surrogate whose derivative has a closed form has a functor in
``jelly/surrogates/cuda/surrogates.cuh`` (``struct ATan { float alpha; ... }``) that
evaluates ``g'(x)`` in float32 on the device. Fused neuron kernels are C++ templates over
that functor; :func:`cuda_functor` tells a kernel loader which functor to instantiate for
a surrogate instance and with which parameters::

    >>> from jelly.surrogates import ATan
    >>> from jelly.surrogates.cuda_sources import cuda_functor
    >>> cuda_functor(ATan(alpha=3.0))
    CudaSurrogate(name='jelly::surrogates::ATan', params=(3.0, 0.0))

Kernels receive the two ``params`` as floats and build the functor with
``Functor::from_params(p0, p1)``. Nothing here imports CuPy or needs a GPU.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import piecewise, smooth, straight_through
from .base import SurrogateFunction

__all__ = [
    "CUDA_HEADER",
    "N_PARAMS",
    "CudaSurrogate",
    "UnsupportedSurrogateError",
    "cuda_functor",
    "cuda_header_digest",
    "cuda_header_source",
    "cuda_include_dir",
    "supported_surrogate_types",
]

#: File name of the header, to ``#include`` with :func:`cuda_include_dir` on the include path.
CUDA_HEADER = "surrogates.cuh"
_NAMESPACE = "jelly::surrogates::"
#: Number of float parameters every functor's ``from_params`` takes.
N_PARAMS = 2


class UnsupportedSurrogateError(TypeError):
    """A surrogate has no CUDA functor (or is in a mode a fused kernel cannot run)."""


@dataclass(frozen=True)
class CudaSurrogate:
    """A surrogate as a fused kernel sees it.

    Attributes:
        name: fully qualified C++ name of the functor (a template argument).
        params: the ``N_PARAMS`` floats passed to ``from_params`` (unused ones are 0).
    """

    name: str
    params: tuple[float, ...]


# class -> function returning the functor's parameters (in from_params order).
_TABLE: dict[type, Callable[[SurrogateFunction], tuple[float, ...]]] = {
    smooth.Sigmoid: lambda s: (s.alpha,),
    smooth.ATan: lambda s: (s.alpha,),
    smooth.SoftSign: lambda s: (s.alpha,),
    smooth.Erf: lambda s: (s.alpha,),
    smooth.PiecewiseExp: lambda s: (s.alpha,),
    smooth.QPseudoSpike: lambda s: (s.alpha,),
    smooth.SuperSpike: lambda s: (s.alpha,),
    smooth.NonzeroSignLogAbs: lambda s: (s.alpha,),
    smooth.SquarewaveFourierSeries: lambda s: (float(s.n), s.T_period),
    piecewise.PiecewiseQuadratic: lambda s: (s.alpha,),
    piecewise.PiecewiseLeakyReLU: lambda s: (s.w, s.c),
    piecewise.Rect: lambda s: (s.alpha,),
    piecewise.S2NN: lambda s: (s.alpha, s.beta),
    piecewise.LogTailedReLU: lambda s: (s.alpha,),
    piecewise.FakeNumericalGradient: lambda s: (s.alpha,),
    piecewise.LeakyKReLU: lambda s: (s.leak, s.k),
    straight_through.DeterministicPass: lambda s: (),
}

_WHY_NOT: dict[type, str] = {
    straight_through.PoissonPass: "its forward draws random Bernoulli spikes instead of the Heaviside step",
}


def supported_surrogate_types() -> tuple[type, ...]:
    """The surrogate classes that have a CUDA functor."""
    return tuple(_TABLE)


def cuda_functor(surrogate: object) -> CudaSurrogate:
    """The device functor and parameters for ``surrogate``.

    The lookup is by exact class: a user subclass (which may override ``derivative``)
    is refused rather than silently run with its parent's formula.

    Raises:
        UnsupportedSurrogateError: ``surrogate`` has no functor, or is in primitive mode
            (``spiking=False``), where its forward is not the Heaviside step.
    """
    cls = type(surrogate)
    if cls in _WHY_NOT:
        raise UnsupportedSurrogateError(f"surrogate {cls.__name__} cannot run in a fused kernel: {_WHY_NOT[cls]}")
    params_of = _TABLE.get(cls)
    if params_of is None:
        known = ", ".join(sorted(c.__name__ for c in _TABLE))
        raise UnsupportedSurrogateError(
            f"surrogate {cls.__module__}.{cls.__qualname__} has no CUDA device functor "
            f"(supported: {known}); add one to jelly/surrogates/cuda/{CUDA_HEADER}"
        )
    if getattr(surrogate, "spiking", True) is not True:
        raise UnsupportedSurrogateError(
            f"surrogate {cls.__name__} is in primitive mode (spiking=False): its forward is g(x), "
            "not the Heaviside step a fused spiking kernel computes"
        )
    params = tuple(float(p) for p in params_of(surrogate))
    return CudaSurrogate(_NAMESPACE + cls.__name__, params + (0.0,) * (N_PARAMS - len(params)))


def cuda_header_source() -> str:
    """The text of ``surrogates.cuh`` (read with :mod:`importlib.resources`)."""
    return importlib.resources.files(__package__).joinpath("cuda", CUDA_HEADER).read_text(encoding="utf-8")


def cuda_header_digest() -> str:
    """A short hash of the header text (to key compiled-kernel caches by its content)."""
    return hashlib.sha256(cuda_header_source().encode()).hexdigest()[:16]


def cuda_include_dir() -> Path:
    """The folder holding ``surrogates.cuh``, for a compiler's ``-I`` option.

    Raises:
        RuntimeError: the package is not installed as plain files (e.g. inside a zip).
    """
    folder = importlib.resources.files(__package__).joinpath("cuda")
    path = Path(str(folder))
    if not (path / CUDA_HEADER).is_file():
        raise RuntimeError(
            f"{CUDA_HEADER} is not a plain file at {path}; install jelly-surrogates unzipped "
            "(a regular pip install) to compile CUDA kernels"
        )
    return path
