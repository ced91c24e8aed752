"""Registry of multi-step neuron implementations, keyed by ``(op, backend)``.

Every op has a ``'reference'`` implementation (the plain per-step autograd loop) and
usually a ``'torch'`` one (fused BPTT). GPU backends (``'cupy'``, ``'triton'``) register
here too, with an availability check that imports nothing heavy until asked.
``'auto'`` picks the first available backend in the op's preference order for the tensor
it gets, except where :mod:`.autotune` measures (CUDA tensors with more than one fused
backend available, by default): then the fastest on the first call of each input kind;
:func:`resolve` returns the choice and the reason.

Callers may pass keyword context to :func:`resolve` (e.g. ``surrogate_function=``); it
reaches the checks that declare ``**context`` (or that keyword), so a backend can decline
an input for a reason other than the tensor (e.g. a surrogate it has no kernel for).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import autotune


class BackendUnavailableError(RuntimeError):
    """An explicitly requested backend cannot run on this input or machine."""


@dataclass
class BackendEntry:
    """One implementation of an op.

    Attributes:
        fn: the implementation.
        devices: device types it runs on (``'cpu'``, ``'cuda'``).
        check: returns ``None`` if usable for the tensor, else a message saying why not
            and how to fix it. Called as ``check(x)``, or ``check(x, **context)`` when it
            accepts keyword arguments (the context given to :func:`resolve`).
        priority: lower runs first under ``'auto'``.
    """

    fn: Callable
    devices: tuple[str, ...] = ("cpu", "cuda")
    check: Callable[[torch.Tensor], str | None] | None = None
    priority: int = 100
    notes: str = ""
    check_keywords: frozenset[str] | None = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        # Looked up once here, not per call (cheap, and nothing for torch.compile to trace).
        self.check_keywords = frozenset() if self.check is None else _accepted_keywords(self.check)


@dataclass
class Resolution:
    """The implementation picked for an input, and why."""

    backend: str
    fn: Callable
    reason: str
    rejected: dict[str, str] = field(default_factory=dict)


_REGISTRY: dict[str, dict[str, BackendEntry]] = {}


def register(op: str, backend: str, **kwargs) -> Callable[[Callable], Callable]:
    """Decorator registering ``fn`` as ``backend`` of ``op`` (see :class:`BackendEntry`)."""

    def decorator(fn: Callable) -> Callable:
        _REGISTRY.setdefault(op, {})[backend] = BackendEntry(fn=fn, **kwargs)
        return fn

    return decorator


def backends_of(op: str) -> tuple[str, ...]:
    """Names of the backends registered for ``op`` (``'auto'`` not included)."""
    return tuple(_REGISTRY.get(op, {}))


def _accepted_keywords(check: Callable) -> frozenset[str] | None:
    """Keyword names ``check`` accepts beyond ``x`` (``None``: any, it declares ``**context``)."""
    try:
        parameters = list(inspect.signature(check).parameters.values())
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters[1:] if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def _context_for(entry: BackendEntry, context: dict) -> dict:
    """The part of ``context`` that ``entry.check`` accepts as keyword arguments."""
    if not context:
        return context
    names = entry.check_keywords
    if names is None:
        return context
    return {k: v for k, v in context.items() if k in names}


def _why_not(entry: BackendEntry, backend: str, x: torch.Tensor, context: dict) -> str | None:
    if x.device.type not in entry.devices:
        return f"backend {backend!r} runs on {entry.devices} tensors, got a {x.device.type} tensor"
    if entry.check is not None:
        return entry.check(x, **_context_for(entry, context))
    return None


def resolve(op: str, backend: str, x: torch.Tensor, **context) -> Resolution:
    """Pick the implementation of ``op`` for input ``x``.

    Args:
        op: the op name (e.g. ``'linear_charge_multistep'``).
        backend: a registered backend name or ``'auto'`` (the first available by priority,
            or, where :mod:`.autotune` applies, the fastest as measured on the first call;
            the returned ``fn`` then measures on that call and ``backend`` names the
            priority choice until the measurement is made).
        x: the input the implementation will run on.
        **context: what else the checks may need, e.g. ``surrogate_function=``.

    Raises:
        BackendUnavailableError: an explicit backend that is unknown or cannot run here;
            the message says why and how to fix it.
    """
    entries = _REGISTRY.get(op)
    if not entries:
        raise KeyError(f"no implementation registered for op {op!r}")
    if backend != "auto":
        entry = entries.get(backend)
        if entry is None:
            raise BackendUnavailableError(
                f"unknown backend {backend!r} for {op}; available: {('auto',) + tuple(entries)}"
            )
        problem = _why_not(entry, backend, x, context)
        if problem is not None:
            raise BackendUnavailableError(f"backend {backend!r} cannot run: {problem}")
        return Resolution(backend, entry.fn, "requested explicitly")
    rejected: dict[str, str] = {}
    available: dict[str, BackendEntry] = {}
    tune = autotune.autotune_enabled_for(x)
    for name, entry in sorted(entries.items(), key=lambda kv: kv[1].priority):
        problem = _why_not(entry, name, x, context)
        if problem is None:
            available[name] = entry
            if not tune:
                break
        else:
            rejected[name] = problem
    if not available:
        raise BackendUnavailableError(f"no backend of {op} can run on this input: {rejected}")
    skipped = ("; skipped " + "; ".join(f"{k}: {v}" for k, v in rejected.items())) if rejected else ""
    first = next(iter(available))
    # the reference loop is the numerical truth, never a speed candidate next to a fused backend
    candidates = {name: e.fn for name, e in available.items() if name != "reference"} or {first: available[first].fn}
    if len(candidates) < 2:
        name = next(iter(candidates))
        reason = f"'auto' picked the fastest available for a {x.device.type} {x.dtype} tensor{skipped}"
        return Resolution(name, candidates[name], reason, rejected)
    kind = autotune.input_kind(op, x, tuple(candidates))
    record = autotune.cached(kind)
    if record is not None:
        reason = f"'auto' measured for this input kind: {record.summary()}{skipped}"
        return Resolution(record.winner, candidates[record.winner], reason, rejected)
    reason = (f"'auto' will time {', '.join(candidates)} on the first call for this input kind and keep the "
              f"fastest (until then {first!r} is the registry's first choice){skipped}")
    return Resolution(first, autotune.tuned_dispatch(kind, candidates), reason, rejected)
