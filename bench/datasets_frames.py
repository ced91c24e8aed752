"""Event → frame conversion: jelly.datasets vs SpikingJelly vs tonic, in the same run.

Integrates 1e7 random events (128 x 128 sensor, 2 polarities) into T = 16 frames, split by
event number and by time, with

- ours:          ``jelly.datasets.integrate_events_to_frames``
- SpikingJelly:  ``spikingjelly.datasets.utils.integrate_events_by_fixed_frames_number``
- tonic:         ``tonic.transforms.ToFrame(n_event_bins=16 | n_time_bins=16)`` on a structured array

Missing peers are skipped. SpikingJelly's ``datasets`` package imports torchvision at import time
(which does not install next to this torch); if that import fails, this script loads
``spikingjelly/datasets/utils.py`` alone with a stub ``torchvision`` module (the integration
functions do not use torchvision) and says so.

Repeats are interleaved (ours, SJ, tonic, ours, ...) so that machine noise hits every
implementation alike; medians and ratios are printed. Run:
``python bench/datasets_frames.py [--events 10000000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
import types

import numpy as np


def load_spikingjelly():
    """Return (function, how it was loaded) or (None, reason)."""
    try:
        from spikingjelly.datasets.utils import integrate_events_by_fixed_frames_number

        return integrate_events_by_fixed_frames_number, "spikingjelly.datasets.utils"
    except ImportError as first:
        try:
            spec_pkg = importlib.util.find_spec("spikingjelly")
        except ImportError:
            spec_pkg = None
        if spec_pkg is None or not spec_pkg.submodule_search_locations:
            return None, f"not installed ({first})"
        import spikingjelly  # the top package imports without torchvision

        root = spec_pkg.submodule_search_locations[0]
        if "torchvision" not in sys.modules:
            stub = types.ModuleType("torchvision")
            stub.transforms = types.ModuleType("torchvision.transforms")
            sys.modules["torchvision"] = stub
            sys.modules["torchvision.transforms"] = stub.transforms
        package = types.ModuleType("spikingjelly.datasets")
        package.__path__ = [f"{root}/datasets"]
        sys.modules["spikingjelly.datasets"] = package
        spec = importlib.util.spec_from_file_location(
            "spikingjelly.datasets.utils", f"{root}/datasets/utils.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _ = spikingjelly
        return module.integrate_events_by_fixed_frames_number, "utils.py loaded alone (torchvision stubbed)"


def load_tonic():
    try:
        import tonic
        import tonic.transforms as T

        return T.ToFrame, f"tonic {tonic.__version__}"
    except ImportError as e:
        return None, f"not installed ({e})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from jelly.datasets import integrate_events_to_frames, make_events, to_tonic_events

    N, T, S = args.events, args.frames, args.size
    rng = np.random.default_rng(0)
    events = make_events(
        np.sort(rng.integers(0, 10_000_000, N)),
        rng.integers(0, S, N),
        rng.integers(0, S, N),
        rng.integers(0, 2, N),
    )
    structured = to_tonic_events(events)

    sj, sj_how = load_spikingjelly()
    to_frame, tonic_how = load_tonic()
    print(f"{N:.0e} events, T={T}, {S}x{S}, {args.repeats} interleaved repeats, 1 thread")
    print(f"  SpikingJelly: {sj_how if sj else 'skipped: ' + sj_how}")
    print(f"  tonic:        {tonic_how if to_frame else 'skipped: ' + tonic_how}")

    for split_by in ("number", "time"):
        impls = {"ours": lambda sb=split_by: integrate_events_to_frames(events, S, S, T, sb)}
        if sj is not None:
            impls["spikingjelly"] = lambda sb=split_by: sj(events, sb, T, S, S)
        if to_frame is not None:
            key = "n_event_bins" if split_by == "number" else "n_time_bins"
            transform = to_frame(sensor_size=(S, S, 2), **{key: T})
            impls["tonic"] = lambda tr=transform: tr(structured)
        # correctness: same total count, same frames as ours where semantics agree
        reference = impls["ours"]()
        notes = []
        for name, fn in impls.items():
            out = np.asarray(fn())
            assert out.shape == (T, 2, S, S), (name, out.shape)
            if int(out.sum()) != N:
                notes.append(f"{name} counted {int(out.sum())} of {N} events")
            elif not np.array_equal(out, reference):
                notes.append(f"{name}: same total, different windows than ours")
        times = {name: [] for name in impls}
        for _ in range(args.repeats):
            for name, fn in impls.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        med = {name: statistics.median(v) for name, v in times.items()}
        fastest_peer = min((v for k, v in med.items() if k != "ours"), default=None)
        print(f"\nsplit_by={split_by!r}")
        print(f"  {'impl':<14}{'median (ms)':>12}{'min (ms)':>10}{'x ours':>9}")
        for name in impls:
            print(
                f"  {name:<14}{med[name] * 1e3:>12.1f}{min(times[name]) * 1e3:>10.1f}{med[name] / med['ours']:>9.2f}"
            )
        if fastest_peer is not None:
            print(f"  speed-up of ours over the fastest peer: {fastest_peer / med['ours']:.2f}x")
        for note in notes:
            print(f"  note: {note}")


if __name__ == "__main__":
    main()
