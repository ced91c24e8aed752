"""Event stream → T frames: Jelly, SpikingJelly and tonic on the same random stream.

- Jelly: ``jelly.datasets.integrate_events_to_frames(events, H, W, T, split_by)``.
- SpikingJelly: ``integrate_events_by_fixed_frames_number(events, split_by, T, H, W)`` (its
  ``datasets`` package imports torchvision; ``bench/datasets_frames.py`` loads the module
  alone when that fails, and is reused here).
- tonic: ``ToFrame(sensor_size, n_event_bins=T)`` for ``'number'`` and
  ``ToFrame(sensor_size, n_time_bins=T)`` for ``'time'``, on the same events as a structured
  array (``jelly.datasets.to_tonic_events``).

The check compares every peer's frames with ours: SpikingJelly follows the same windowing
rules and must match exactly; tonic cuts windows by its own rules (it spreads the remainder
of ``N / T`` differently and bins time with its own edges), so it must keep every event
(same total count) but may put some into neighbouring frames; the report says how many.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

SENSOR = 128


def _datasets_frames_module():
    """``bench/datasets_frames.py`` (its peer loaders), imported from its path."""
    path = Path(__file__).resolve().parents[1] / "datasets_frames.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("jelly_bench_datasets_frames", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_events(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` random events on a 128 x 128 sensor over 10 s, sorted by time."""
    from jelly.datasets import make_events

    rng = np.random.default_rng(seed)
    return make_events(np.sort(rng.integers(0, 10_000_000, n)), rng.integers(0, SENSOR, n),
                       rng.integers(0, SENSOR, n), rng.integers(0, 2, n))


def setup(n: int, T: int) -> tuple[dict[str, dict[str, Callable[[], object]]], dict[str, str], list[str]]:
    """Workloads ``{name: {impl: call}}``, missing peers, and the output checks."""
    from jelly.datasets import integrate_events_to_frames, to_tonic_events

    events = random_events(n)
    helpers = _datasets_frames_module()
    missing: dict[str, str] = {}
    sj = to_frame = None
    if helpers is None:
        missing["spikingjelly"] = missing["tonic"] = "bench/datasets_frames.py (the peer loaders) not found"
    else:
        sj, how = helpers.load_spikingjelly()
        if sj is None:
            missing["spikingjelly"] = how
        to_frame, how = helpers.load_tonic()
        if to_frame is None:
            missing["tonic"] = how
    structured = to_tonic_events(events) if to_frame is not None else None
    workloads, notes = {}, []
    for split_by in ("number", "time"):
        impls: dict[str, Callable[[], object]] = {
            "jelly": lambda sb=split_by: integrate_events_to_frames(events, SENSOR, SENSOR, T, sb)}
        if sj is not None:
            impls["spikingjelly"] = lambda sb=split_by: sj(events, sb, T, SENSOR, SENSOR)
        if to_frame is not None:
            key = "n_event_bins" if split_by == "number" else "n_time_bins"
            transform = to_frame(sensor_size=(SENSOR, SENSOR, 2), **{key: T})
            impls["tonic"] = lambda tr=transform: tr(structured)
        ours = np.asarray(impls["jelly"]())
        for name, call in impls.items():
            if name == "jelly":
                continue
            out = np.asarray(call()).reshape(ours.shape)
            if np.array_equal(out, ours):
                notes.append(f"split_by={split_by!r}, {name}: identical frames ({n} events)")
                continue
            lost = n - int(out.sum())
            # |out - ours| counts each moved event twice and each lost (or extra) event once
            moved = (int(np.abs(out - ours).sum()) - abs(lost)) // 2
            notes.append(f"split_by={split_by!r}, {name}: {moved} of {n} events in another frame than ours, "
                         f"{lost} events {'dropped' if lost >= 0 else 'added'} (its own windowing rules)")
        workloads[f"frames {split_by} N={n:.0e} T={T}"] = impls
    return workloads, missing, notes
