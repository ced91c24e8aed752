"""The compile part of ``gpu_check.py``: every CuPy kernel variant through NVRTC (no GPU needed)."""

from __future__ import annotations

import itertools
import time

from gpu_check_common import RED, RESET, map_in_pool


def cupy_programs(chunk: int = 48) -> list:
    """Every CuPy kernel instantiation, grouped into NVRTC programs of ``chunk`` kernels."""
    from jelly.neurons.backends.cupy import gated_lif, loader, multi_state, single_state

    by_source: dict[str, list[str]] = {}
    for variant in itertools.chain(single_state.all_variants(), multi_state.all_variants(),
                                   gated_lif.all_variants()):
        by_source.setdefault(variant.source, []).extend(variant.names)
    programs = []
    for source, names in by_source.items():
        unique = list(dict.fromkeys(names))
        programs += [loader.Variant(source, tuple(unique[i:i + chunk])) for i in range(0, len(unique), chunk)]
    return programs


def _compile_program(program) -> tuple[int, str]:
    from jelly.neurons.backends.cupy import loader

    try:
        loader.nvrtc_ptx(program, arch="compute_90")
    except Exception as error:  # noqa: BLE001 - reported
        return 0, f"{program.source}: {str(error)[:2000]}"
    return len(program.names), ""


def compile_all(args, paths: list[str]) -> bool:
    """Compile every CuPy kernel variant to PTX with NVRTC (no GPU needed); report failures."""
    try:
        programs = cupy_programs()
        from cupy.cuda import nvrtc

        nvrtc.getVersion()
    except Exception as error:  # noqa: BLE001
        print(f"compile: skipped, CuPy's NVRTC is not usable here ({type(error).__name__}: {error})")
        return True
    started = time.perf_counter()
    results = map_in_pool(_compile_program, programs, args.workers, paths)
    kernels = sum(n for n, _ in results)
    failures = [why for _, why in results if why]
    total = sum(len(p.names) for p in programs)
    print(f"compile: {kernels}/{total} CuPy kernels ({len(programs)} NVRTC programs) compiled to PTX for "
          f"compute_90 in {time.perf_counter() - started:.0f} s")
    for why in failures[:5]:
        print(f"{RED}FAIL{RESET} {why}")
    return not failures
