"""The CUDA device functors of ``cuda/surrogates.cuh`` against the torch ``derivative``s.

The header's functors are ``__host__ __device__``; ``tests/cuda_host/functor_harness.cpp``
compiles them with g++ and evaluates them on the CPU through the same ``from_params``
call a kernel makes, with the parameters from :func:`~jelly.surrogates.cuda_sources.cuda_functor`.
Also: the table covers every surrogate, refuses what a fused kernel cannot run, the
header ships in the package, and (with CuPy's NVRTC installed) compiles for sm_90.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from jelly import surrogates as sg
from jelly.surrogates import cuda_sources

HERE = Path(__file__).parent
F32P = ctypes.POINTER(ctypes.c_float)

# Instances with non-default hyper-parameters, so a swapped or ignored parameter shows.
INSTANCES = [
    sg.Sigmoid(alpha=3.0), sg.ATan(alpha=1.5), sg.SoftSign(alpha=2.5), sg.Erf(alpha=1.7), sg.PiecewiseExp(alpha=2.2),
    sg.QPseudoSpike(alpha=2.5), sg.SuperSpike(alpha=0.7), sg.NonzeroSignLogAbs(alpha=1.3),
    sg.SquarewaveFourierSeries(n=4, T_period=6.0), sg.PiecewiseQuadratic(alpha=1.2),
    sg.PiecewiseLeakyReLU(w=0.6, c=0.05), sg.Rect(alpha=0.8), sg.S2NN(alpha=3.0, beta=0.7),
    sg.LogTailedReLU(alpha=0.1), sg.FakeNumericalGradient(alpha=0.4), sg.LeakyKReLU(leak=0.1, k=0.9),
    sg.DeterministicPass(),
]


def test_every_exported_surrogate_is_in_the_table_or_refused():
    exported = {getattr(sg, name) for name in sg.__all__ if isinstance(getattr(sg, name), type)}
    surrogate_classes = {c for c in exported if issubclass(c, sg.SurrogateFunction) and c is not sg.SurrogateFunction}
    supported = set(cuda_sources.supported_surrogate_types())
    assert supported | {sg.PoissonPass} == surrogate_classes
    assert {type(s) for s in INSTANCES} == supported


def test_refusals_name_the_reason():
    with pytest.raises(cuda_sources.UnsupportedSurrogateError, match="Bernoulli"):
        cuda_sources.cuda_functor(sg.PoissonPass())
    with pytest.raises(cuda_sources.UnsupportedSurrogateError, match="spiking=False"):
        cuda_sources.cuda_functor(sg.ATan(spiking=False))

    class MyATan(sg.ATan):
        def derivative(self, x):
            return 2 * super().derivative(x)

    with pytest.raises(cuda_sources.UnsupportedSurrogateError, match="MyATan"):
        cuda_sources.cuda_functor(MyATan())


def test_functor_names_exist_in_the_header():
    header = cuda_sources.cuda_header_source()
    for instance in INSTANCES:
        functor = cuda_sources.cuda_functor(instance)
        assert f"struct {functor.name.rsplit('::', 1)[1]} {{" in header
        assert len(functor.params) == cuda_sources.N_PARAMS


def test_header_is_a_package_file():
    folder = cuda_sources.cuda_include_dir()
    assert (folder / cuda_sources.CUDA_HEADER).read_text(encoding="utf-8") == cuda_sources.cuda_header_source()
    assert len(cuda_sources.cuda_header_digest()) == 16


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not found")
    out = tmp_path_factory.mktemp("functors") / "functor_harness.so"
    subprocess.run([compiler, "-O1", "-std=c++17", "-shared", "-fPIC", f"-I{cuda_sources.cuda_include_dir()}",
                    str(HERE / "cuda_host" / "functor_harness.cpp"), "-o", str(out)],
                   check=True, capture_output=True, text=True)
    lib = ctypes.CDLL(str(out))
    lib.jelly_eval.restype = ctypes.c_int
    return lib


@pytest.mark.parametrize("instance", INSTANCES, ids=lambda s: type(s).__name__)
def test_functor_matches_torch_derivative(harness, instance):
    x = torch.cat([torch.linspace(-4, 4, 2001), torch.tensor([0.0, -0.0, 1.0, -1.0, 0.5, 1e-3, -1e-3])])
    x = x.float().contiguous()
    functor = cuda_sources.cuda_functor(instance)
    y = torch.empty_like(x)
    name = functor.name.rsplit("::", 1)[1].encode()
    status = harness.jelly_eval(name, ctypes.cast(x.data_ptr(), F32P), ctypes.cast(y.data_ptr(), F32P), x.numel(),
                                ctypes.c_float(functor.params[0]), ctypes.c_float(functor.params[1]))
    assert status == 0
    expected = instance.derivative(x.double()).float()
    # Kinks: a float32 x exactly at a window edge may round the edge the other way; skip them.
    edges = _edges(instance)
    away = torch.ones_like(x, dtype=torch.bool)
    for edge in edges:
        away &= (x.double().abs() - edge).abs() > 1e-5
    torch.testing.assert_close(y[away], expected[away], rtol=2e-5, atol=2e-6)


def _edges(instance) -> list[float]:
    if isinstance(instance, sg.PiecewiseLeakyReLU):
        return [instance.w]
    if isinstance(instance, sg.Rect):
        return [0.5 / instance.alpha]
    if isinstance(instance, sg.PiecewiseQuadratic):
        return [1.0 / instance.alpha]
    if isinstance(instance, sg.FakeNumericalGradient):
        return [1.0 / instance.alpha]
    return []


def test_header_compiles_with_nvrtc(tmp_path):
    pytest.importorskip("cupy", reason="cupy-cuda12x is needed to reach NVRTC")
    from cupy.cuda import nvrtc

    try:
        nvrtc.getVersion()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"NVRTC cannot be loaded: {error}")
    calls = "\n".join(
        f"    out[{i}] = jelly::surrogates::{type(s).__name__}::from_params(p0, p1)(x[{i}]);"
        for i, s in enumerate(INSTANCES)
    )
    source = (f'#include "{cuda_sources.CUDA_HEADER}"\n'
              "extern \"C\" __global__ void probe(const float* x, float* out, float p0, float p1) {\n"
              f"{calls}\n}}\n")
    program = nvrtc.createProgram(source, "probe.cu", [], [])
    try:
        nvrtc.compileProgram(program, ["--gpu-architecture=compute_90", "-std=c++17",
                                       f"-I{cuda_sources.cuda_include_dir()}"])
    except nvrtc.NVRTCError as error:
        pytest.fail(f"{error}\n{nvrtc.getProgramLog(program)}")
    ptx = nvrtc.getPTX(program)
    assert b".entry probe" in (ptx if isinstance(ptx, bytes) else ptx.encode())
