"""CPU-side checks of the ``cupy`` backend (no GPU needed).

* Every kernel source compiles to PTX for ``compute_90`` with NVRTC (``cupy.cuda.nvrtc``
  works without a driver; ``nvidia-cuda-nvrtc-cu12`` and ``nvidia-cuda-runtime-cu12``
  supply the compiler and ``cuda_fp16.h``/``cuda_bf16.h``). A representative subset of
  the variants is compiled here (every neuron x reset x dtype, forward and backward, both
  ``detach_reset`` values, every surrogate functor, both vector widths); the full cross
  product is compiled by ``bench/gpu_check.py`` (``--compile-only`` runs without a GPU).
  A few instantiations per file also go through ``nvcc -ptx -arch=sm_90`` (CUDA 13 here).
* The availability check gives the right message for each failure, simulated.
* The custom ops' fake implementations and autograd wiring work on ``meta`` tensors.
* GPU parity tests against the torch reference are marked ``cuda`` and skipped here.
"""

from __future__ import annotations

import itertools
import re
import sys

import pytest
import torch

from jelly import neurons, surrogates
from jelly.neurons.backends import BackendUnavailableError, resolve
from jelly.neurons.backends.cupy import availability, loader
from jelly.neurons.backends.cupy import gated_lif as glif
from jelly.neurons.backends.cupy import multi_state as ms
from jelly.neurons.backends.cupy import single_state as ss
from jelly.neurons.functional.integrate_fire import LinearChargeParams
from jelly.surrogates.cuda_sources import cuda_include_dir, supported_surrogate_types

torch.set_num_threads(1)
CTYPES = tuple(loader.CTYPES.values())
SURROGATES = [f"jelly::surrogates::{cls.__name__}" for cls in supported_surrogate_types()]


def _subset() -> list[loader.Variant]:
    """One NVRTC program per (source, dtype) holding a representative set of kernels."""
    programs = []
    cycle = itertools.count()
    for source, functors in ss.FUNCTORS.items():
        for ctype in CTYPES:
            names: list[str] = []
            for functor, reset in itertools.product(functors, ss.RESETS):
                i = next(cycle)
                surrogate = SURROGATES[i % len(SURROGATES)]
                variant = ss.variant_names(source, f"jelly::neurons::{functor}", reset, surrogate, bool(i % 2), ctype,
                                           loader.WIDTHS[ctype])
                names += variant.names
            # the scalar (vector width 1) path, once per program
            names += ss.variant_names(source, f"jelly::neurons::{functors[0]}", "SoftReset", SURROGATES[0], False,
                                      ctype, 1).names
            programs.append(loader.Variant(source, tuple(dict.fromkeys(names))))
    # the multi-state models: 7 evenly spaced instantiations per (file, dtype), with an odd
    # stride so that they cycle through resets, surrogates, detach_reset and KLIF's flags,
    # plus the scalar path once
    for ctype in CTYPES:
        by_source: dict[str, list[loader.Variant]] = {}
        for variant in ms.all_variants(ctypes=(ctype,), scalar=False):
            by_source.setdefault(variant.source, []).append(variant)
        for source, variants in by_source.items():
            stride = (len(variants) // 7) | 1
            names = [n for v in variants[::stride] for n in v.names]
            scalar = next(v for v in ms.all_variants(ctypes=(ctype,), wide=False) if v.source == source)
            programs.append(loader.Variant(source, tuple(dict.fromkeys(names + list(scalar.names)))))
    # GLIF: per dtype, a third of the surrogates with the 16-byte width (a different third
    # per dtype, so the three dtypes cover them all) and the scalar path once
    for i, ctype in enumerate(CTYPES):
        names = [n for s in SURROGATES[i::len(CTYPES)] for n in glif.variant(s, ctype, loader.WIDTHS[ctype]).names]
        names += glif.variant(SURROGATES[i], ctype, 1).names
        programs.append(loader.Variant(glif.SOURCE, tuple(dict.fromkeys(names))))
    # every surrogate functor in a float32 backward
    every = [ss.variant_names("linear_charge.cu", "jelly::neurons::LIF<true>", "HardReset", s, False, "float",
                              loader.WIDTHS["float"]).names[1] for s in SURROGATES]
    programs.append(loader.Variant("linear_charge.cu", tuple(every)))
    return programs


@pytest.fixture(scope="module")
def nvrtc():
    pytest.importorskip("cupy", reason="cupy-cuda12x is needed to reach NVRTC")
    from cupy.cuda import nvrtc as module

    try:
        module.getVersion()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"NVRTC cannot be loaded ({error}); pip install nvidia-cuda-nvrtc-cu12")
    if not loader.cuda_include_dirs(module.getVersion()[0]):
        pytest.skip("cuda_fp16.h not found; pip install nvidia-cuda-runtime-cu12")
    return module


@pytest.mark.parametrize("program", _subset(), ids=lambda v: f"{v.source}-{len(v.names)}kernels")
def test_kernels_compile_to_ptx(nvrtc, program):
    ptx, lowered = loader.nvrtc_ptx(program, arch="compute_90")
    assert ".target sm_90" in ptx
    entries = set(re.findall(r"\.entry\s+(\S+?)\(", ptx))
    for name, mangled in lowered.items():
        assert mangled in entries, f"{name} missing from the PTX"


def test_subset_covers_every_axis():
    names = [n for program in _subset() for n in program.names]
    text = "\n".join(names)
    for model in ms.MODELS.values():
        assert f"{model.forward_kernel}<" in text and f"{model.backward_kernel}<" in text
    for combo in ("true, true", "true, false", "false, true", "false, false"):
        assert f"klif_forward<jelly::neurons::HardReset, {combo}" in text or \
            f"klif_forward<jelly::neurons::SoftReset, {combo}" in text, combo
    for functors in ss.FUNCTORS.values():
        for functor in functors:
            assert f"jelly::neurons::{functor}," in text
    for token in (*ss.RESETS, *CTYPES, *SURROGATES, "true, float", "false, float", ", 1>", "float, 4>", "__half, 8>",
                  "__nv_bfloat16, 8>"):
        assert token in text, token
    assert any("single_state_forward" in n for n in names) and any("single_state_backward" in n for n in names)
    for ctype in CTYPES:
        for vec in (1, loader.WIDTHS[ctype]):
            assert f"gated_lif_forward<{ctype}, {vec}>" in text, (ctype, vec)
    for surrogate in SURROGATES:
        assert f"gated_lif_backward<{surrogate}, " in text, surrogate


def test_full_variant_list_is_the_cross_product():
    variants = list(ss.all_variants())
    n_functors = sum(len(f) for f in ss.FUNCTORS.values())
    assert len(variants) == n_functors * len(ss.RESETS) * len(SURROGATES) * 2 * len(CTYPES) * 2
    assert len({v.names for v in variants}) == len(variants)
    multi = list(ms.all_variants())
    # cuba + izhikevich: reset x surrogate x detach; klif: x decay x scale; clif: surrogate
    per_dtype_and_width = len(SURROGATES) * (2 * 2 * 2 + 2 * 2 * 2 * 2 + 1)
    assert len(multi) == per_dtype_and_width * len(CTYPES) * 2
    assert len({v.names for v in multi}) == len(multi)
    gated = list(glif.all_variants())
    assert len(gated) == len(SURROGATES) * len(CTYPES) * 2
    assert len({v.names for v in gated}) == len(gated)


def test_a_broken_source_reports_the_nvrtc_log(nvrtc, monkeypatch):
    monkeypatch.setattr(loader, "kernel_source", lambda name: "__global__ void k() { undefined_symbol; }")
    with pytest.raises(RuntimeError, match="undefined_symbol"):
        loader.nvrtc_ptx(loader.Variant("broken.cu", ("k",)))


def test_options_are_stable_and_key_the_headers():
    options = loader.compile_options(12)
    assert "-fmad=false" in options
    assert any(o.startswith("-DJELLY_SOURCE_DIGEST=0x") for o in options)
    assert loader.compile_options(12) == options


def test_vector_width_needs_alignment_and_divisible_size():
    x = torch.zeros(3, 8)
    assert loader.vector_width(8, 4, x, None) == 4
    assert loader.vector_width(6, 4, torch.zeros(3, 6)) == 1
    assert loader.vector_width(4, 4, x.view(-1)[1:9].view(2, 4)) == 1  # misaligned start
    assert loader.vector_width(12, 4, torch.zeros(2, 6)) == 4
    assert loader.vector_width(12, 8, torch.zeros(2, 6, dtype=torch.float16)) == 1
    assert loader.WIDTHS == {"float": 4, "__half": 8, "__nv_bfloat16": 8}


def test_template_names_spell_booleans():
    assert loader.template_name("k", "A", True, "float", 4) == "jelly::neurons::k<A, true, float, 4>"


# --------------------------------------------------------------------------- availability
@pytest.fixture
def fresh_probe():
    availability.installation_problem.cache_clear()
    yield
    availability.installation_problem.cache_clear()


def test_check_on_this_machine_names_the_missing_piece():
    message = availability.check(torch.zeros(2, 3))
    if torch.version.cuda is None:
        assert "CPU-only build" in message and "backend='torch'" in message
    elif not torch.cuda.is_available():
        assert "no CUDA GPU" in message
    else:  # pragma: no cover - a GPU machine
        assert "got a cpu tensor" in message


def test_resolve_refuses_cupy_for_cpu_tensors_and_auto_skips_it():
    lif = neurons.LIFNode(step_mode="m", backend="cupy")
    with pytest.raises(BackendUnavailableError, match="cupy"):
        lif(torch.zeros(2, 3))
    choice = resolve("linear_charge_multistep", "auto", torch.zeros(2, 3))
    assert choice.backend != "cupy"


@pytest.fixture
def gpu_machine(monkeypatch, fresh_probe):
    """Pretend to be a machine with a CUDA 12 PyTorch and a GPU."""
    monkeypatch.setattr(availability, "torch_cuda_version", lambda: "12.8")
    monkeypatch.setattr(availability, "gpu_available", lambda: True)
    monkeypatch.setattr(availability.torch.version, "cuda", "12.8")
    return torch.zeros(2, 3, device="meta")


def _fake_cuda(x):
    class FakeCuda:
        device = torch.device("cuda", 0)
        dtype = x.dtype

    return FakeCuda()


def test_check_cupy_missing(gpu_machine, monkeypatch):
    monkeypatch.setattr(availability, "cupy_installed", lambda: False)
    message = availability.check(_fake_cuda(gpu_machine))
    assert "CuPy is not installed" in message
    assert 'pip install "jelly-neurons[cupy]"' in message and "cupy-cuda12x" in message


def test_check_cupy_broken(gpu_machine, monkeypatch):
    monkeypatch.setattr(availability, "cupy_installed", lambda: True)

    def broken():
        raise ImportError("libcudart.so.12: cannot open shared object file")

    monkeypatch.setattr(availability, "import_cupy", broken)
    message = availability.check(_fake_cuda(gpu_machine))
    assert "fails to import" in message and "libcudart.so.12" in message and "pip install" in message


class _FakeCupy:
    def __init__(self, runtime=12080, nvrtc=(12, 8), driver=12080):
        self.runtime_version, self.nvrtc, self.driver = runtime, nvrtc, driver


@pytest.fixture
def fake_cupy(gpu_machine, monkeypatch):
    state = _FakeCupy()
    monkeypatch.setattr(availability, "cupy_installed", lambda: True)
    monkeypatch.setattr(availability, "import_cupy", lambda: state)
    monkeypatch.setattr(availability, "cupy_cuda_version", lambda cupy: cupy.runtime_version)

    def nvrtc_version(cupy):
        if isinstance(cupy.nvrtc, Exception):
            raise cupy.nvrtc
        return cupy.nvrtc

    monkeypatch.setattr(availability, "nvrtc_version", nvrtc_version)
    monkeypatch.setattr(availability, "driver_version", lambda cupy: cupy.driver)
    monkeypatch.setattr(availability, "cuda_headers_found", lambda major: True)
    return state


def test_check_passes_when_everything_matches(gpu_machine, fake_cupy):
    assert availability.check(_fake_cuda(gpu_machine)) is None


def test_check_cuda_version_mismatch(gpu_machine, fake_cupy, monkeypatch):
    monkeypatch.setattr(availability, "torch_cuda_version", lambda: "13.0")
    message = availability.check(_fake_cuda(gpu_machine))
    assert "CUDA version mismatch" in message
    assert "pip uninstall cupy-cuda12x && pip install cupy-cuda13x" in message


def test_check_nvrtc_missing(gpu_machine, fake_cupy):
    fake_cupy.nvrtc = OSError("libnvrtc.so.12: cannot open shared object file")
    message = availability.check(_fake_cuda(gpu_machine))
    assert "NVRTC" in message and "pip install nvidia-cuda-nvrtc-cu12" in message


def test_check_nvrtc_version_mismatch(gpu_machine, fake_cupy):
    fake_cupy.nvrtc = (11, 8)
    assert "NVRTC version mismatch" in availability.check(_fake_cuda(gpu_machine))


def test_check_missing_headers(gpu_machine, fake_cupy, monkeypatch):
    monkeypatch.setattr(availability, "cuda_headers_found", lambda major: False)
    message = availability.check(_fake_cuda(gpu_machine))
    assert "cuda_fp16.h" in message and "pip install nvidia-cuda-runtime-cu12" in message


def test_check_old_driver(gpu_machine, fake_cupy):
    fake_cupy.driver = 11040
    message = availability.check(_fake_cuda(gpu_machine))
    assert "driver supports CUDA 11.4" in message


def test_check_no_gpu(monkeypatch, fresh_probe):
    monkeypatch.setattr(availability, "torch_cuda_version", lambda: "12.8")
    monkeypatch.setattr(availability, "gpu_available", lambda: False)
    assert "no CUDA GPU is visible" in availability.check(torch.zeros(1))


def test_check_cpu_tensor_on_a_gpu_machine(gpu_machine):
    message = availability.check(torch.zeros(1))
    assert "got a cpu tensor" in message and ".cuda()" in message


def test_check_dtype(gpu_machine, fake_cupy):
    x = torch.zeros(1, dtype=torch.float64, device="meta")
    assert "dtype float64 is not supported" in availability.check(_fake_cuda(x))


def test_check_surrogate(gpu_machine, fake_cupy):
    x = _fake_cuda(gpu_machine)
    assert availability.check(x, surrogate_function=surrogates.ATan()) is None
    message = availability.check(x, surrogate_function=surrogates.PoissonPass())
    assert "PoissonPass" in message and "Bernoulli" in message
    assert "spiking=False" in availability.check(x, surrogate_function=surrogates.Sigmoid(spiking=False))


def test_cupy_is_not_imported_by_the_package():
    code = "import sys, jelly.neurons; assert 'cupy' not in sys.modules, 'cupy imported at package import'"
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- custom ops
@pytest.mark.parametrize("params", [LinearChargeParams("lif", 1.0, 0.0), LinearChargeParams("plif", 1.0, None)])
def test_custom_ops_fake_and_autograd_on_meta(params):
    from jelly.surrogates.cuda_sources import cuda_functor

    x = torch.randn(4, 2, 8, device="meta", requires_grad=True)
    v = torch.zeros(2, 8, device="meta", requires_grad=True)
    w = torch.zeros((), device="meta", requires_grad=True)
    k = ss.plif_k(w, x.device) if params.kind == "plif" else None
    spikes, v_seq = ss.run_single_state(x, v, ss.linear_charge_spec(params), cuda_functor(surrogates.ATan()), k)
    assert spikes.shape == v_seq.shape == x.shape and spikes.device.type == "meta"
    (spikes.sum() + v_seq.sum()).backward()
    assert x.grad.shape == x.shape and v.grad.shape == v.shape
    if k is not None:
        assert w.grad.shape == w.shape


@pytest.mark.parametrize("model", ["cuba_lif", "izhikevich", "clif", "klif"])
def test_multi_state_ops_on_meta(model):
    from jelly.neurons.backends.cupy import ops
    from jelly.neurons.functional.cuba_lif import CUBALIFParams
    from jelly.neurons.functional.izhikevich import IzhikevichParams
    from jelly.neurons.functional.klif import KLIFParams

    x = torch.randn(4, 2, 8, device="meta", requires_grad=True)
    s0 = torch.zeros(2, 8, device="meta", requires_grad=True)
    s1 = torch.zeros(2, 8, device="meta", requires_grad=True)
    k = torch.ones((), device="meta", requires_grad=True)
    sg = surrogates.Sigmoid()
    if model == "cuba_lif":
        out = ops.cuba_lif_multistep(x, s0, s1, CUBALIFParams(), sg)
    elif model == "izhikevich":
        out = ops.izhikevich_multistep(x, s0, s1, IzhikevichParams(v_reset=None), sg)
    elif model == "clif":
        out = ops.clif_multistep(x, s0, s1, 2.0, 1.0, sg)
    else:
        out = ops.klif_multistep(x, s0, k, KLIFParams(scale_reset=True), sg)
    assert out[0].shape == out[1].shape == x.shape
    sum(o.sum() for o in out).backward()
    assert x.grad.shape == x.shape and s0.grad.shape == s0.shape
    if model == "klif":
        assert k.grad.shape == k.shape
    else:
        assert s1.grad.shape == s1.shape


@pytest.mark.parametrize("channel_wise", [False, True], ids=["layer", "channel"])
def test_gated_lif_op_on_meta(channel_wise):
    from jelly.neurons.backends.cupy import ops
    from jelly.neurons.functional.gated_lif import GLIFGates

    steps, shape = 4, (2, 3, 8)
    gate_shape = (3, 1) if channel_wise else ()
    x = torch.randn(steps, *shape, device="meta", requires_grad=True)
    u0 = torch.zeros(shape, device="meta", requires_grad=True)
    s0 = torch.zeros(shape, device="meta", requires_grad=True)
    gates = [torch.full(gate_shape, 0.5, device="meta", requires_grad=True) for _ in range(7)]
    conduct = torch.full((steps, *gate_shape), 0.5, device="meta", requires_grad=True)
    spikes, u_seq = ops.gated_lif_multistep(x, u0, s0, GLIFGates(*gates), conduct, surrogates.ATan())
    assert spikes.shape == u_seq.shape == x.shape and spikes.device.type == "meta"
    (spikes.sum() + u_seq.sum()).backward()
    for leaf in (x, u0, s0, *gates, conduct):
        assert leaf.grad is not None and leaf.grad.shape == leaf.shape


def test_gated_lif_rejects_short_conductances_and_falls_back_for_other_gates():
    import warnings

    from jelly.neurons.backends.cupy import ops
    from jelly.neurons.functional.gated_lif import GLIFGates, gated_lif_multistep_reference

    x = torch.rand(4, 2, 3, device="meta")
    gates = GLIFGates(*[torch.full((), 0.5, device="meta") for _ in range(7)])
    with pytest.raises(ValueError, match="conduct_seq of shape"):
        ops.gated_lif_multistep(x, torch.zeros(2, 3, device="meta"), torch.zeros(2, 3, device="meta"), gates,
                                torch.full((3,), 0.5, device="meta"), surrogates.ATan())
    # per-element gates have no kernel: the torch backend runs (here on CPU tensors), with a warning
    x = torch.rand(4, 2, 3)
    gates = GLIFGates(*[torch.full((2, 3), 0.5) for _ in range(7)])
    u0, s0, conduct = torch.zeros(2, 3), torch.zeros(2, 3), torch.full((4,), 0.5)
    ops._warned.discard(("gated_lif_multistep", "gates"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spikes, u_seq = ops.gated_lif_multistep(x, u0, s0, gates, conduct, surrogates.ATan())
    assert any("neither scalars nor one value per channel" in str(w.message) for w in caught)
    ref_spikes, ref_u = gated_lif_multistep_reference(x, u0, s0, gates, conduct, surrogates.ATan())
    assert torch.equal(spikes, ref_spikes)
    torch.testing.assert_close(u_seq, ref_u)


def test_specs_pack_parameters_like_the_gpu_does():
    spec = ss.linear_charge_spec(LinearChargeParams("lif", 1.0, -0.5, tau=3.0, decay_input=False))
    assert spec.functor == "jelly::neurons::LIF<false>" and spec.reset == "HardReset"
    import numpy as np

    assert spec.params[0] == float(np.float32(1) / np.float32(3.0))
    assert spec.params[1] == -0.5
    soft = ss.linear_charge_spec(LinearChargeParams("if", 0.5, None, detach_reset=True))
    assert (soft.reset, soft.v_reset, soft.detach_reset) == ("SoftReset", 0.0, True)


def test_kernels_compile_with_nvcc(tmp_path):
    """The other toolchain: nvcc (CUDA 13 on these machines, the device's major) with its own headers.

    nvcc has no name expressions; taking each kernel's address in a host function
    instantiates it. A few instantiations per source file, 16-bit types included.
    """
    import shutil
    import subprocess

    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not found")
    names: list[tuple[str, str]] = []
    for source, functors in ss.FUNCTORS.items():
        for i, ctype in enumerate(CTYPES):
            variant = ss.variant_names(source, f"jelly::neurons::{functors[i % len(functors)]}", ss.RESETS[i % 2],
                                       SURROGATES[(5 * i) % len(SURROGATES)], bool(i % 2), ctype, loader.WIDTHS[ctype])
            names += [(source, n) for n in variant.names]
    for i, variant in enumerate(ms.all_variants(scalar=False)):
        if i % 97 == 0:
            names += [(variant.source, n) for n in variant.names]
    for i, ctype in enumerate(CTYPES):
        names += [(glif.SOURCE, n) for n in glif.variant(SURROGATES[(7 * i) % len(SURROGATES)], ctype,
                                                         loader.WIDTHS[ctype]).names]
    sources = sorted({source for source, _ in names})
    lines = [f'#include "{source}"' for source in sources]
    lines += ["void jelly_instantiate() {"] + [f"    (void)&{name};" for _, name in names] + ["}"]
    (tmp_path / "all.cu").write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [nvcc, "-ptx", "-arch=sm_90", "-std=c++17", "-fmad=false", f"-I{loader.kernels_dir()}",
         f"-I{cuda_include_dir()}", str(tmp_path / "all.cu"), "-o", str(tmp_path / "all.ptx")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ptx = (tmp_path / "all.ptx").read_text()
    assert ptx.count(".entry") >= len(names) - len(sources)  # forwards may repeat
    assert {source for source, _ in names} == {"linear_charge.cu", "nonlinear_if.cu", "cuba_lif.cu",
                                               "izhikevich.cu", "clif.cu", "klif.cu", "gated_lif.cu"}
