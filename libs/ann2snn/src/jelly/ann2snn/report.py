"""The conversion report: what was replaced, folded, removed, kept, and what was left and why."""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIONS = ("replaced", "folded", "removed", "kept", "left")


@dataclass(frozen=True)
class NodeRecord:
    """What the converter did with one node of the traced graph.

    Attributes:
        node: the ``torch.fx`` node name (as in ``graph_module.graph``).
        op: the operation, spelled as in the source (``nn.Conv2d``, ``F.relu``,
            ``Tensor.relu_``, ``operator.add``...).
        action: ``'replaced'`` (a ReLU became scale → IF → scale), ``'folded'`` (a batch
            norm merged into the preceding layer), ``'removed'`` (dropout), ``'kept'``
            (an op that commutes with rate coding: linear, affine, pooling by averaging,
            shape handling, or a computation that does not depend on the input) or
            ``'left'`` (an op that makes the SNN diverge from the ANN, kept because the
            user allowed it).
        detail: why, in words (for ``'replaced'`` the threshold scale ``λ``).
        target: the submodule path for module calls, else ``''``.
    """

    node: str
    op: str
    action: str
    detail: str
    target: str = ""

    def __str__(self) -> str:
        where = f" ({self.target})" if self.target and self.target != self.node else ""
        return f"{self.action:<8} {self.node}{where}: {self.op} - {self.detail}"


@dataclass
class ConversionReport:
    """The list of :class:`NodeRecord` of one conversion, plus its settings.

    Attributes:
        records: one record per operation node, in graph order.
        mode: the normalisation mode text (``'max'``, ``'99.9%'``, ``'0.5'``).
        calibration_batches: number of calibration batches seen.
        calibration_samples: number of calibration samples seen.
        static_input: whether the static-input fast path applies (see
            :meth:`jelly.ann2snn.network.SpikingNetwork.forward_static`).
        notes: anything else worth knowing (e.g. a ReLU that never fired on the data).
    """

    records: list[NodeRecord] = field(default_factory=list)
    mode: str = ""
    calibration_batches: int = 0
    calibration_samples: int = 0
    static_input: bool = False
    notes: list[str] = field(default_factory=list)

    def by_action(self, action: str) -> list[NodeRecord]:
        """The records whose action is ``action`` (one of :data:`ACTIONS`)."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
        return [r for r in self.records if r.action == action]

    @property
    def replaced(self) -> list[NodeRecord]:
        """ReLUs replaced by scale → IF → scale."""
        return self.by_action("replaced")

    @property
    def folded(self) -> list[NodeRecord]:
        """Batch norms folded into the preceding convolution or linear layer."""
        return self.by_action("folded")

    @property
    def removed(self) -> list[NodeRecord]:
        """Dropouts removed."""
        return self.by_action("removed")

    @property
    def kept(self) -> list[NodeRecord]:
        """Ops kept unchanged because they commute with rate coding."""
        return self.by_action("kept")

    @property
    def left(self) -> list[NodeRecord]:
        """Ops the SNN cannot reproduce, kept because the user allowed them."""
        return self.by_action("left")

    @property
    def exact(self) -> bool:
        """``True`` if nothing was left that makes the SNN diverge from the ANN."""
        return not self.left

    def summary(self) -> str:
        """One line: how many nodes got each action."""
        counts = ", ".join(f"{len(self.by_action(a))} {a}" for a in ACTIONS)
        return f"mode {self.mode}: {counts}"

    def __str__(self) -> str:
        lines = [f"Conversion report ({self.summary()})"]
        lines.append(
            f"calibration: {self.calibration_samples} samples in {self.calibration_batches} batches; "
            f"static-input fast path: {'yes' if self.static_input else 'no'}"
        )
        lines += [f"  {r}" for r in self.records]
        lines += [f"note: {n}" for n in self.notes]
        if self.left:
            lines.append("WARNING: the ops marked 'left' make the SNN diverge from the ANN")
        return "\n".join(lines)
