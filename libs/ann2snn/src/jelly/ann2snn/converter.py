"""ANN-to-SNN conversion with ``torch.fx``: trace, check, fold, calibrate, replace ReLUs.

Steps of :meth:`Converter.convert`:

1. trace the ANN (eval mode) with ``torch.fx`` (a :class:`~jelly.ann2snn.errors.TracingError`
   explains failures such as data-dependent control flow);
2. run it on one calibration batch to learn every node's shape, and make in-place ops
   (``relu_``, ``inplace=True``) explicit in the graph;
3. classify every input-dependent operation with the rules of :mod:`jelly.ann2snn.rules`;
   anything that would make the SNN diverge from the ANN raises
   :class:`~jelly.ann2snn.errors.UnsupportedOperationError` unless allowed;
4. check that samples of a batch never interact (time is merged into the batch);
5. remove dropouts, fold batch norms into the preceding conv/linear layer;
6. record the normalisation statistic ``λ`` after each ReLU on the calibration data
   (:class:`~jelly.ann2snn.modules.VoltageHook`);
7. replace each ReLU by ``VoltageScaler(1/λ) → IFNode(soft reset) → VoltageScaler(λ)``.

The result is a :class:`~jelly.ann2snn.network.SpikingNetwork` with a
:class:`~jelly.ann2snn.report.ConversionReport`.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import torch
from torch import fx, nn
from tqdm.auto import tqdm

from .errors import ConversionError, UnsupportedOperationError
from .fusion import fold_batch_norms, remove_node
from .modes import NormMode, parse_mode
from .modules import ExpandTime, SpikingActivation, VoltageHook
from .network import SpikingNetwork
from .report import ConversionReport, NodeRecord
from .rules import classify, first_input, op_name
from .tracing import (
    check_batch_independence,
    input_dependent_nodes,
    is_tensor_node,
    propagate_shapes,
    redirect_inplace,
    trace,
)

_OPS = ("call_module", "call_function", "call_method")
_FUSABLE_POOLS = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
                  nn.AdaptiveAvgPool3d)


def batch_input(batch: Any) -> torch.Tensor:
    """The input tensor of a data-loader item: the item itself or its first element."""
    if isinstance(batch, (list, tuple)) and batch:
        batch = batch[0]
    if not isinstance(batch, torch.Tensor):
        raise TypeError(
            "the data loader must yield tensors or (input, target, ...) sequences whose first element is "
            f"a tensor; got {type(batch).__name__}"
        )
    return batch


def _model_device(model: nn.Module) -> torch.device:
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _unique_name(gm: fx.GraphModule, base: str, taken: set[str]) -> str:
    base = base.replace(".", "_")
    name, i = base, 1
    while hasattr(gm, name) or name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


class Converter:
    """Convert a ReLU ANN into an SNN of IF neurons with soft reset (rate coding).

    Args:
        dataloader: calibration data: a re-iterable (``DataLoader``, list) of input tensors or
            of ``(input, target, ...)`` tuples. Training data is the usual choice.
        mode: normalisation mode (see :mod:`jelly.ann2snn.modes`): ``'max'``, a percentile
            such as ``'99.9%'``, or a fraction ``0 < f <= 1`` of the maximum.
        fuse_bn: fold batch norms into the preceding conv/linear layer (exact; recommended).
        momentum: averaging of the per-batch statistic over batches: exponential with this
            momentum (SpikingJelly's default 0.1), or ``None`` for the plain mean.
        device: device for calibration and for the SNN (default: the model's).
        max_batches: use at most this many calibration batches (default: all).
        allow: ops the SNN cannot reproduce are errors unless allowed: ``True`` allows all,
            or give op names (``'nn.MaxPool2d'``, ``'F.gelu'``), node names or module paths.
            Allowed ops are kept as they are and listed as ``'left'`` in the report.
        leaf_modules: module types fx must not trace into (see :class:`TracingError`).
        concrete_args: passed to ``torch.fx.Tracer.trace`` to fix non-tensor arguments.
        check_batch: check that samples of a batch never interact (recommended).
        fuse_pool: move an average pooling that directly follows a converted ReLU into its
            :class:`~jelly.ann2snn.modules.SpikingActivation` (``λ · pool(spikes)``, equal to
            the ANN's ``pool(ReLU)`` up to rounding), so the fast loop pools in cache.
        channels_last: store 4-D weights (2-D convolutions) channels-last, which makes CPU
            convolutions several times faster; default: on CPU only.
        progress: show a tqdm progress bar during calibration.
        fuse_flag: SpikingJelly's name for ``fuse_bn`` (overrides it when given).

    Example::

        converter = Converter(train_loader, mode="99.9%")
        snn = converter(ann)
        print(snn.report)
    """

    def __init__(
        self,
        dataloader: Iterable,
        *,
        mode: str | float | NormMode = "max",
        fuse_bn: bool = True,
        momentum: float | None = 0.1,
        device: str | torch.device | None = None,
        max_batches: int | None = None,
        allow: bool | Iterable[str] = False,
        leaf_modules: Iterable[type] = (),
        concrete_args: dict[str, Any] | None = None,
        check_batch: bool = True,
        fuse_pool: bool = True,
        channels_last: bool | None = None,
        progress: bool = True,
        fuse_flag: bool | None = None,
    ) -> None:
        if iter(dataloader) is dataloader:
            raise TypeError(
                "dataloader must be re-iterable (a DataLoader or a list), not a one-shot iterator: "
                "the converter reads one batch for shapes and then all batches for calibration"
            )
        if max_batches is not None and int(max_batches) < 1:
            raise ValueError(f"max_batches must be >= 1 or None, got {max_batches}")
        self.dataloader = dataloader
        self.mode = parse_mode(mode)
        self.fuse_bn = bool(fuse_bn if fuse_flag is None else fuse_flag)
        VoltageHook(momentum=momentum)  # validates momentum
        self.momentum = momentum
        self.device = torch.device(device) if device is not None else None
        self.max_batches = None if max_batches is None else int(max_batches)
        self.allow = allow if isinstance(allow, bool) else frozenset(allow)
        self.leaf_modules = tuple(leaf_modules)
        self.concrete_args = concrete_args
        self.check_batch = bool(check_batch)
        self.fuse_pool = bool(fuse_pool)
        self.channels_last = channels_last
        self.progress = bool(progress)
        self.report: ConversionReport | None = None

    def __call__(self, ann: nn.Module) -> SpikingNetwork:
        """Same as :meth:`convert`."""
        return self.convert(ann)

    # -- helpers ---------------------------------------------------------------------------------
    def _allowed(self, node: fx.Node, op: str) -> bool:
        if self.allow is True or self.allow is False:
            return bool(self.allow)
        return bool({op, node.name, str(node.target)} & self.allow)

    def _example(self, device: torch.device) -> torch.Tensor:
        for batch in self.dataloader:
            return batch_input(batch).to(device)
        raise ConversionError("the calibration data loader is empty")

    def _classify(self, gm: fx.GraphModule, dependent: set[fx.Node]) -> tuple[dict, list, list, list]:
        """Records for every op node; the ReLU, dropout and refused nodes."""
        records: dict[str, NodeRecord] = {}
        relus, dropouts, refused = [], [], []

        def dynamic_tensor(arg: Any) -> bool:
            return isinstance(arg, fx.Node) and arg in dependent and is_tensor_node(arg)

        for node in gm.graph.nodes:
            if node.op not in _OPS:
                continue
            op = op_name(node, gm)
            target = str(node.target) if node.op == "call_module" else ""
            if node not in dependent:
                records[node.name] = NodeRecord(node.name, op, "kept", "constant (does not depend on the input)",
                                                target)
                continue
            if not is_tensor_node(node):
                records[node.name] = NodeRecord(node.name, op, "kept", "shape arithmetic (not a tensor)", target)
                continue
            decision = classify(node, gm, dynamic_tensor)
            if decision.kind == "relu":
                relus.append(node)
                records[node.name] = NodeRecord(node.name, op, "replaced", "ReLU -> IF neuron", target)
            elif decision.kind == "dropout":
                dropouts.append(node)
                records[node.name] = NodeRecord(node.name, op, "removed", decision.reason, target)
            elif decision.kind == "keep":
                records[node.name] = NodeRecord(node.name, op, "kept", decision.reason, target)
            else:
                record = NodeRecord(node.name, op, "left", decision.reason, target)
                records[node.name] = record
                if not self._allowed(node, op):
                    refused.append(record)
        return records, relus, dropouts, refused

    @staticmethod
    def _refusal_message(model: nn.Module, refused: list[NodeRecord]) -> str:
        lines = [f"{type(model).__name__} holds {len(refused)} operation(s) the SNN cannot reproduce:"]
        for r in refused:
            where = f", module '{r.target}'" if r.target else ""
            lines.append(f"  - {r.op} at node '{r.node}'{where}: {r.detail}")
        ops = sorted({r.op for r in refused})
        lines.append(
            f"Replace them, or pass allow={ops!r} (or allow=True) to keep them as they are; the report "
            "then lists them as 'left' and the SNN will not converge to the ANN."
        )
        return "\n".join(lines)

    def _calibrate(self, gm: fx.GraphModule, device: torch.device, report: ConversionReport) -> None:
        total = None
        try:
            total = len(self.dataloader)  # type: ignore[arg-type]
            if self.max_batches is not None:
                total = min(total, self.max_batches)
        except TypeError:
            total = self.max_batches
        bar = tqdm(self.dataloader, total=total, desc=f"calibrating (mode {self.mode.text})",
                   disable=not self.progress, leave=False)
        with torch.no_grad():
            for i, batch in enumerate(bar):
                if self.max_batches is not None and i >= self.max_batches:
                    break
                x = batch_input(batch).to(device)
                gm(x)
                report.calibration_batches += 1
                report.calibration_samples += int(x.shape[0]) if x.dim() else 1
        bar.close()

    # -- conversion -----------------------------------------------------------------------------
    def convert(self, ann: nn.Module) -> SpikingNetwork:
        """Convert ``ann`` (left untouched) into a :class:`SpikingNetwork`.

        Raises:
            TracingError: fx could not trace the ANN (data-dependent control flow...).
            UnsupportedOperationError: the ANN holds ops the SNN cannot reproduce (unless allowed).
            ConversionError: other problems (empty data, samples of a batch interacting...).
        """
        model = copy.deepcopy(ann).eval()
        device = self.device or _model_device(model)
        model.to(device)
        gm = trace(model, self.leaf_modules, self.concrete_args)
        gm.eval()
        example = self._example(device)
        propagate_shapes(gm, example)
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise ConversionError(
                f"the converter handles networks with one input tensor; {type(ann).__name__}.forward takes "
                f"{len(placeholders)} ({[p.name for p in placeholders]}); fix the others with concrete_args"
            )
        redirect_inplace(gm)
        dependent = input_dependent_nodes(gm)
        records, relus, dropouts, refused = self._classify(gm, dependent)
        if refused:
            raise UnsupportedOperationError(self._refusal_message(ann, refused), refused)
        output = next(n for n in gm.graph.nodes if n.op == "output")
        if self.check_batch:
            outputs = [a for a in output.all_input_nodes if a in dependent]
            check_batch_independence(gm, example, dependent, relus + outputs)

        report = ConversionReport(mode=self.mode.text)
        for node in dropouts:
            remove_node(gm, node)
        if self.fuse_bn:
            for bn_name, _bn_target, layer_target in fold_batch_norms(gm):
                old = records[bn_name]
                records[bn_name] = NodeRecord(old.node, old.op, "folded", f"folded into '{layer_target}'", old.target)

        # Calibration: each ReLU becomes a module ReLU -> VoltageHook at a unique path.
        taken: set[str] = set()
        seen_targets: set[str] = set()
        relu_modules: dict[str, str] = {}  # node name -> module path
        for node in relus:
            if node.op == "call_module" and node.target not in seen_targets:
                name = str(node.target)
                seen_targets.add(name)
                taken.add(name)
            else:
                name = _unique_name(gm, node.name, taken)
            gm.add_submodule(name, nn.Sequential(nn.ReLU(), VoltageHook(momentum=self.momentum, mode=self.mode)))
            with gm.graph.inserting_before(node):
                new = gm.graph.call_module(name, (first_input(node),))
            new.meta = dict(node.meta)
            node.replace_all_uses_with(new)
            gm.graph.erase_node(node)
            relu_modules[node.name] = name
        gm.graph.lint()
        gm.recompile()
        self._calibrate(gm, device, report)
        if report.calibration_batches == 0:
            raise ConversionError("the calibration data loader is empty")

        for node_name, path in relu_modules.items():
            hook: VoltageHook = gm.get_submodule(path)[1]
            scale = float(hook.scale)
            if not (math.isfinite(scale) and scale > 0.0):
                report.notes.append(
                    f"ReLU '{node_name}' had statistic {scale:g} on the calibration data (never active); "
                    "its threshold scale is set to 1"
                )
                scale = 1.0
            gm.add_submodule(path, SpikingActivation(scale).to(device))
            old = records[node_name]
            records[node_name] = NodeRecord(old.node, old.op, "replaced",
                                            f"ReLU -> VoltageScaler(1/λ) -> IFNode(soft reset) -> VoltageScaler(λ), "
                                            f"λ = {scale:.6g}", path)

        if self.fuse_pool:
            self._fuse_pools(gm, records)
        prefix = self._prepare_static_input(gm, records, taken)
        report.static_input = prefix is not None
        time_dependent = [n for n in gm.graph.nodes if n.name not in (prefix or ()) and n.op != "output"]
        sample_numel = self._largest_sample(time_dependent, example)
        report.records = list(records.values())
        gm.delete_all_unused_submodules()
        gm.graph.lint()
        gm.recompile()
        self.report = report
        snn = SpikingNetwork(gm, report, supports_static_input=report.static_input, prefix_nodes=prefix or (),
                             sample_numel=sample_numel).to(device)
        if self.channels_last if self.channels_last is not None else device.type == "cpu":
            snn = snn.to(memory_format=torch.channels_last)
        return snn

    @staticmethod
    def _fuse_pools(gm: fx.GraphModule, records: dict[str, NodeRecord]) -> None:
        """Move each average pooling that is the only reader of a converted ReLU into it."""
        uses = Counter(n.target for n in gm.graph.nodes if n.op == "call_module")
        for node in list(gm.graph.nodes):
            if node.op != "call_module" or not isinstance(gm.get_submodule(node.target), SpikingActivation):
                continue
            users = list(node.users)
            if len(users) != 1:
                continue
            user = users[0]
            if user.op != "call_module" or user.args != (node,) or user.kwargs or uses[user.target] != 1:
                continue
            pool = gm.get_submodule(user.target)
            if not isinstance(pool, _FUSABLE_POOLS):
                continue
            act = gm.get_submodule(node.target)
            act.pool = pool
            node.meta["tensor_meta"] = user.meta.get("tensor_meta")  # the activation now outputs pooled maps
            user.replace_all_uses_with(node)
            gm.graph.erase_node(user)
            old = records[user.name]
            records[user.name] = NodeRecord(old.node, old.op, "kept",
                                            f"average pooling (linear), fused into '{node.target}' "
                                            "(applied to the spikes before the output scale)", old.target)

    @staticmethod
    def _largest_sample(nodes: Iterable[fx.Node], example: torch.Tensor) -> int:
        """The most elements per sample of the nodes' tensors (to size chunks of time steps)."""
        batch = example.shape[0] if example.dim() else 1
        largest = 0
        for node in nodes:
            meta = node.meta.get("tensor_meta")
            if is_tensor_node(node) and len(meta.shape) >= 1 and meta.shape[0] == batch:
                largest = max(largest, math.prod(meta.shape[1:]))
        return largest

    @staticmethod
    def _prepare_static_input(gm: fx.GraphModule, records: dict, taken: set[str]) -> frozenset[str] | None:
        """Mark neurons fed by the neuron-free prefix of the graph and expand that prefix's
        tensors where they meet later parts, so a static input runs the prefix once.

        Returns the names of the prefix nodes, or ``None`` (changing nothing) if the prefix
        cannot be separated.
        """
        dependent = input_dependent_nodes(gm)
        acts = {n for n in gm.graph.nodes
                if n.op == "call_module" and isinstance(gm.get_submodule(n.target), SpikingActivation)}
        after: set[fx.Node] = set()
        for node in gm.graph.nodes:
            if node in acts or any(a in after for a in node.all_input_nodes):
                after.add(node)
        prefix = {n for n in gm.graph.nodes if n.op != "output" and n not in after and (
            n in dependent or any(a in dependent for a in n.all_input_nodes))}
        if any(records.get(n.name) is not None and records[n.name].action == "left" for n in prefix):
            return None
        edges = []
        for node in gm.graph.nodes:
            if node not in after and node.op != "output":
                continue
            for arg in node.all_input_nodes:
                if arg in prefix and node not in acts:
                    if not is_tensor_node(arg):
                        return None
                    edges.append((node, arg))
        fed = [n for n in acts if first_input(n) in prefix]
        for act in fed:
            gm.get_submodule(act.target).static_fed = True
        if edges:
            name = _unique_name(gm, "expand_time", taken)
            gm.add_submodule(name, ExpandTime())
            expanded: dict[fx.Node, fx.Node] = {}
            for user, arg in edges:
                if arg not in expanded:
                    with gm.graph.inserting_after(arg):
                        expanded[arg] = gm.graph.call_module(name, (arg,))
                user.replace_input_with(arg, expanded[arg])
        return frozenset(n.name for n in prefix)
