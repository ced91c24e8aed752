"""Graph capture and graph analyses used by the converter (``torch.fx``)."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from jelly.core.base import MemoryModule

from .errors import ConversionError, TracingError
from .rules import first_input, mutates_first_input

_CONTROL_FLOW_HINT = (
    "This usually means data-dependent Python control flow in forward(): an `if`, `while`, `for`, "
    "`assert` or bool()/int() on a tensor's values (e.g. `if x.sum() > 0:`), which torch.fx cannot "
    "record in a static graph. Workarounds: (1) make the branch depend on a constructor argument or "
    "attribute, not on the input; (2) pass concrete_args={'arg': value} to fix a non-tensor forward "
    "argument; (3) move the code into its own submodule and pass leaf_modules=(ThatModule,) so it is "
    "kept as one opaque call (it is then not converted and must be allowed with allow=[...]); "
    "(4) wrap a helper function with torch.fx.wrap."
)


class _ConversionTracer(fx.Tracer):
    """fx tracer that keeps stateful modules and user-chosen module types as leaves."""

    def __init__(self, leaf_modules: Iterable[type] = ()) -> None:
        super().__init__()
        self.extra_leaves = tuple(leaf_modules)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, MemoryModule) or (self.extra_leaves and isinstance(m, self.extra_leaves)):
            return True
        return super().is_leaf_module(m, module_qualified_name)


def _user_frame(exc: BaseException) -> str:
    """``file:line in function`` of the innermost traceback frame outside torch, if any."""
    torch_dir = os.path.dirname(torch.__file__)
    here = os.path.dirname(__file__)
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if not frame.filename.startswith(torch_dir) and not frame.filename.startswith(here):
            found = f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return found


def trace(
    model: nn.Module, leaf_modules: Iterable[type] = (), concrete_args: dict[str, Any] | None = None
) -> fx.GraphModule:
    """Symbolically trace ``model`` into a ``GraphModule``.

    Raises:
        TracingError: fx failed; the message says why (typically data-dependent control
            flow), where in the user's code, and how to work around it.
    """
    tracer = _ConversionTracer(leaf_modules)
    try:
        graph = tracer.trace(model, concrete_args)
    except Exception as exc:
        where = _user_frame(exc)
        control_flow = "control flow" in str(exc) or isinstance(exc, fx.proxy.TraceError)
        kind = "data-dependent control flow" if control_flow else "an operation fx cannot trace"
        raise TracingError(
            f"torch.fx could not trace {type(model).__name__}, probably because of {kind} "
            f"({type(exc).__name__}: {exc})" + (f" at {where}" if where else "") + ". " + _CONTROL_FLOW_HINT
        ) from exc
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def is_tensor_node(node: Any) -> bool:
    """Whether ``node`` is an fx node whose (shape-propagated) value is a tensor."""
    return isinstance(node, fx.Node) and isinstance(node.meta.get("tensor_meta"), TensorMetadata)


def node_inputs(node: fx.Node) -> list[fx.Node]:
    """The fx nodes among a node's (possibly nested) arguments."""
    return list(node.all_input_nodes)


def propagate_shapes(gm: fx.GraphModule, example: torch.Tensor) -> None:
    """Run ``gm`` on ``example`` and record every node's tensor metadata (``node.meta``)."""
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(example.clone())
    except Exception as exc:
        raise ConversionError(
            f"the traced ANN failed on a calibration batch of shape {tuple(example.shape)} "
            f"({type(exc).__name__}: {exc}); check that the data loader yields inputs the model accepts"
        ) from exc


def input_dependent_nodes(gm: fx.GraphModule) -> set[fx.Node]:
    """Nodes whose value depends on the network input (forward reachability from placeholders)."""
    dependent: set[fx.Node] = set()
    for node in gm.graph.nodes:
        if node.op == "placeholder" or any(a in dependent for a in node.all_input_nodes):
            dependent.add(node)
    return dependent


def redirect_inplace(gm: fx.GraphModule) -> list[fx.Node]:
    """Make later readers of a tensor modified in place read the in-place op's result.

    fx records ``F.relu(x, inplace=True)`` (or ``x.relu_()``) as a node, but later uses of
    ``x`` still point at the old node; that is right only while the op runs in place. After
    this pass the graph stays correct when the op is replaced by an out-of-place one.

    Returns:
        The in-place nodes found.
    """
    order = {node: i for i, node in enumerate(gm.graph.nodes)}
    found = []
    for node in list(gm.graph.nodes):
        if node.op not in ("call_module", "call_function", "call_method") or not mutates_first_input(node, gm):
            continue
        target = first_input(node)
        if not is_tensor_node(target):
            continue
        found.append(node)
        for user in list(target.users):
            if user is not node and order[user] > order[node]:
                user.replace_input_with(target, node)
    return found


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__(gm)
        self.values: dict[str, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        value = super().run_node(n)
        if isinstance(value, torch.Tensor):
            self.values[n.name] = value.detach().clone()
        return value


def check_batch_independence(
    gm: fx.GraphModule, example: torch.Tensor, dependent: set[fx.Node], must_be_batched: Iterable[fx.Node]
) -> None:
    """Check that the network treats dim 0 as a batch of independent samples.

    The converted SNN merges time into the batch (``[T * N, *]``), so every layer must act on
    each sample alone, and the input of every neuron and the output must have the batch
    in dim 0. Runs the ANN graph on ``k >= 2`` samples and on the first sample alone.

    Raises:
        ConversionError: naming the first node where samples interact or the batch moved.
    """
    k = min(4, example.shape[0]) if example.dim() >= 1 else 0
    if k < 2:
        return
    with torch.no_grad():
        full = _Recorder(gm)
        full.run(example[:k].clone())
        single = _Recorder(gm)
        single.run(example[:1].clone())
    for node in gm.graph.nodes:
        if node not in dependent or node.name not in full.values or node.name not in single.values:
            continue
        a, b = full.values[node.name], single.values[node.name]
        batched = a.dim() >= 1 and a.shape[0] == k and b.shape[0] == 1 and a.shape[1:] == b.shape[1:]
        if not batched:
            continue
        if a.is_floating_point():
            scale = float(a.abs().max()) if a.numel() else 0.0
            same = torch.allclose(a[:1], b, rtol=1e-4, atol=1e-5 * max(1.0, scale))
        else:
            same = torch.equal(a[:1], b)
        if not same:
            raise ConversionError(
                f"node {node.name!r} mixes samples across the batch dimension (its output for a sample "
                "changes with the other samples of the batch). The converted SNN merges time steps into "
                "the batch, so every layer must act on each sample independently."
            )
    for node in must_be_batched:
        value = full.values.get(node.name)
        if value is not None and (value.dim() < 1 or value.shape[0] != k):
            raise ConversionError(
                f"node {node.name!r} has shape {tuple(value.shape)} for a batch of {k}: the batch is not in "
                "dimension 0 there, but neurons and the output need it there (time is merged into the batch)"
            )
