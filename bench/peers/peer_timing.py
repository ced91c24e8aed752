"""Interleaved timing of several implementations of one workload, and the result table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Measurement:
    """Per-call seconds of one implementation on one workload."""

    workload: str
    impl: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median seconds per call."""
        return statistics.median(self.seconds)


def interleaved(workload: str, impls: dict[str, Callable[[], object]], repeats: int,
                calls_per_repeat: int = 1) -> list[Measurement]:
    """Time every implementation ``repeats`` times, round-robin (A, B, C, A, B, C, ...).

    Each implementation is called once first (warm-up, not timed). A sample is the mean of
    ``calls_per_repeat`` back-to-back calls. Interleaving makes a burst of machine load hit
    every implementation alike instead of whichever happened to run then.
    """
    for fn in impls.values():
        fn()
    results = {name: Measurement(workload, name) for name in impls}
    for _ in range(repeats):
        for name, fn in impls.items():
            start = time.perf_counter()
            for _ in range(calls_per_repeat):
                fn()
            results[name].seconds.append((time.perf_counter() - start) / calls_per_repeat)
    return list(results.values())


def format_table(measurements: list[Measurement], ours: str = "jelly", markdown: bool = False) -> str:
    """A table of medians (ms) and ratios to ``ours`` (``> 1``: the peer is slower than ours)."""
    ours_median = {m.workload: m.median for m in measurements if m.impl == ours}
    rows = [("workload", "implementation", "median ms", "min ms", "peer / ours")]
    for m in measurements:
        base = ours_median.get(m.workload)
        ratio = "—" if m.impl == ours or base is None else f"{m.median / base:.2f}x"
        rows.append((m.workload, m.impl, f"{m.median * 1e3:.2f}", f"{min(m.seconds) * 1e3:.2f}", ratio))
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "| " + " | ".join(["---", "---", "---:", "---:", "---:"]) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for i, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
