"""Which operations convert, and how: the rule tables of the converter.

Rate coding turns an ANN activation ``a`` into a spike train whose mean over ``T`` steps
approaches ``a``. An operation survives the conversion unchanged when applying it to every
time step and averaging gives the same as applying it to the average: linear and affine
maps (convolution, linear layers, eval-mode batch norm, additions, average pooling, scaling
by a constant), and shape handling. A ReLU becomes an IF neuron. Everything else (max
pooling, other activations, products of two input-dependent tensors, normalisation by input
statistics, layers with state) makes the SNN diverge from the ANN and is refused unless
allowed.
"""

from __future__ import annotations

import builtins
import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from jelly.core.base import MemoryModule


@dataclass(frozen=True)
class Decision:
    """The rule's verdict on one node.

    Attributes:
        kind: ``'relu'`` (replace by an IF neuron), ``'dropout'`` (remove), ``'keep'``
            (commutes with rate coding) or ``'refuse'`` (diverges; an error unless allowed).
        reason: why, in words.
    """

    kind: str
    reason: str


# -- names ------------------------------------------------------------------------------------
def _build_function_names() -> dict[int, str]:
    names: dict[int, str] = {}
    for prefix, namespace in (("operator", operator), ("torch", torch), ("F", F)):
        for attr in dir(namespace):
            if attr.startswith("__"):
                continue
            obj = getattr(namespace, attr, None)
            if callable(obj) and id(obj) not in names:
                names[id(obj)] = f"{prefix}.{attr}"
    names[id(builtins.getattr)] = "getattr"
    return names


_FUNCTION_NAMES = _build_function_names()


def op_name(node: fx.Node, gm: fx.GraphModule) -> str:
    """The operation of ``node`` spelled as in source code (``nn.ReLU``, ``F.relu``, ``Tensor.relu``)."""
    if node.op == "call_module":
        cls = type(gm.get_submodule(node.target))
        if cls.__module__.startswith("torch.nn"):
            return f"nn.{cls.__name__}"
        return f"{cls.__module__}.{cls.__qualname__}"
    if node.op == "call_function":
        target = node.target
        name = _FUNCTION_NAMES.get(id(target))
        if name is None:
            module = getattr(target, "__module__", None) or "?"
            name = f"{module}.{getattr(target, '__qualname__', getattr(target, '__name__', repr(target)))}"
        return name
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    return node.op


# -- module rules ---------------------------------------------------------------------------------
_LINEAR = "linear map (commutes with rate coding)"
_SHAPE = "shape handling (acts on every time step alike)"
_AVG = "average pooling (linear)"
_PAD = "padding (linear)"
_ACT = "non-ReLU activation: an IF neuron only reproduces ReLU"
_MAXPOOL = (
    "max pooling: the maximum of spike trains is not the spike train of the maximum. Replace it by "
    "average pooling and retrain, or allow it to keep max pooling of the spikes (an approximation)"
)
_NORM = "normalisation by statistics of the input (nonlinear)"
_STATE = "layer with state across calls: its SNN counterpart is not defined"

DROPOUT_MODULES: tuple[type, ...] = (
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout,
)
KEEP_MODULES: tuple[tuple[tuple[type, ...], str], ...] = (
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), _LINEAR),
    ((nn.Linear, nn.Identity), _LINEAR),
    ((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
      nn.AdaptiveAvgPool3d), _AVG),
    ((nn.Flatten, nn.Unflatten, nn.PixelShuffle, nn.PixelUnshuffle, nn.ChannelShuffle), _SHAPE),
    ((nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d,
      nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d, nn.ReplicationPad1d,
      nn.ReplicationPad2d, nn.ReplicationPad3d), _PAD),
    ((nn.Upsample,), "upsampling (linear interpolation of the input)"),
)
REFUSE_MODULES: tuple[tuple[tuple[type, ...], str], ...] = (
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
      nn.AdaptiveMaxPool3d, nn.FractionalMaxPool2d, nn.FractionalMaxPool3d, nn.LPPool1d, nn.LPPool2d), _MAXPOOL),
    ((nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ReLU6, nn.ELU, nn.SELU,
      nn.CELU, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.Softplus, nn.Softsign, nn.Softmax,
      nn.LogSoftmax, nn.Softmin, nn.Tanhshrink, nn.Threshold, nn.GLU, nn.LogSigmoid, nn.Hardshrink,
      nn.Softshrink), _ACT),
    ((nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d,
      nn.LocalResponseNorm), _NORM),
    ((nn.RNNBase, nn.RNNCellBase, MemoryModule), _STATE),
    ((nn.MultiheadAttention,), "attention: products of input-dependent tensors (nonlinear)"),
    ((nn.Embedding, nn.EmbeddingBag), "lookup indexed by input values (not a function of rates)"),
)


def _classify_module(module: nn.Module) -> Decision:
    if isinstance(module, nn.ReLU):
        return Decision("relu", "ReLU")
    if isinstance(module, DROPOUT_MODULES):
        return Decision("dropout", "dropout is the identity at inference")
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        if module.running_mean is None:
            return Decision("refuse", "batch norm without running statistics normalises by batch statistics")
        return Decision("keep", "eval-mode batch norm (affine map with the running statistics)")
    for types, reason in KEEP_MODULES:
        if isinstance(module, types):
            return Decision("keep", reason)
    for types, reason in REFUSE_MODULES:
        if isinstance(module, types):
            return Decision("refuse", reason)
    return Decision("refuse", "no conversion rule for this module (it may be nonlinear or keep state)")


# -- function and method rules ------------------------------------------------------------------
RELU_FUNCTIONS = frozenset({F.relu, torch.relu, torch.relu_})
RELU_METHODS = frozenset({"relu", "relu_"})
CLAMP_FUNCTIONS = frozenset({torch.clamp, torch.clip, torch.clamp_min, torch.clamp_, torch.clamp_min_})
CLAMP_METHODS = frozenset({"clamp", "clip", "clamp_min", "clamp_", "clip_", "clamp_min_"})
DROPOUT_FUNCTIONS = frozenset({F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                               F.feature_alpha_dropout, torch.dropout})

_KEEP_FUNCTION_GROUPS: tuple[tuple[tuple, str], ...] = (
    ((F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d, F.linear),
     _LINEAR),
    ((operator.add, operator.sub, operator.neg, operator.pos, operator.iadd, operator.isub, torch.add,
      torch.sub, torch.subtract, torch.neg, torch.sum, torch.mean), "sum or difference (linear)"),
    ((F.avg_pool1d, F.avg_pool2d, F.avg_pool3d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d,
      F.adaptive_avg_pool3d), _AVG),
    ((torch.flatten, torch.reshape, torch.cat, torch.concat, torch.stack, torch.transpose, torch.permute,
      torch.squeeze, torch.unsqueeze, torch.chunk, torch.split, torch.narrow, operator.getitem,
      builtins.getattr, F.pixel_shuffle, F.pixel_unshuffle), _SHAPE),
    ((F.pad,), _PAD),
    ((F.interpolate, F.upsample), "interpolation (linear)"),
)
KEEP_FUNCTIONS: dict = {f: reason for group, reason in _KEEP_FUNCTION_GROUPS for f in group}
PRODUCT_FUNCTIONS = frozenset({operator.mul, operator.imul, torch.mul, torch.multiply, operator.matmul,
                               torch.matmul, torch.mm, torch.bmm, torch.einsum})
DIVISION_FUNCTIONS = frozenset({operator.truediv, operator.itruediv, torch.div, torch.true_divide, torch.divide})
REFUSE_FUNCTIONS: dict = {
    **{f: _MAXPOOL for f in (F.max_pool1d, F.max_pool2d, F.max_pool3d, F.max_pool1d_with_indices,
                             F.max_pool2d_with_indices, F.max_pool3d_with_indices, F.adaptive_max_pool1d,
                             F.adaptive_max_pool2d, F.adaptive_max_pool3d, torch.max_pool1d,
                             torch.max_pool2d, torch.max_pool3d, F.lp_pool1d, F.lp_pool2d)},
    **{f: "maximum over input-dependent values (nonlinear)" for f in (torch.max, torch.amax, torch.min,
                                                                       torch.amin, torch.maximum,
                                                                       torch.minimum)},
    **{f: _ACT for f in (F.gelu, F.silu, torch.sigmoid, F.sigmoid, torch.tanh, F.tanh, F.leaky_relu,
                         F.relu6, F.hardtanh, F.elu, F.selu, F.celu, F.softplus, F.softmax, torch.softmax,
                         F.log_softmax, torch.log_softmax, F.hardswish, F.hardsigmoid, F.mish, F.prelu,
                         F.rrelu, F.glu, F.logsigmoid, F.softsign, F.tanhshrink, F.threshold, torch.exp,
                         torch.log, torch.abs, torch.sqrt, torch.pow, torch.clamp, torch.clip)},
    **{f: _NORM for f in (F.layer_norm, F.group_norm, F.instance_norm, F.normalize, F.local_response_norm)},
}
KEEP_METHODS: dict = {
    **{m: _SHAPE for m in ("view", "reshape", "flatten", "unflatten", "permute", "transpose", "contiguous",
                           "squeeze", "unsqueeze", "size", "dim", "chunk", "split", "expand", "expand_as",
                           "view_as", "reshape_as", "repeat", "clone", "detach", "narrow", "to", "float",
                           "double", "type_as", "t")},
    **{m: "sum or difference (linear)" for m in ("add", "add_", "sub", "sub_", "neg", "mean", "sum")},
}
PRODUCT_METHODS = frozenset({"mul", "mul_", "matmul", "mm", "bmm"})
DIVISION_METHODS = frozenset({"div", "div_", "true_divide"})
REFUSE_METHODS: dict = {
    **{m: _ACT for m in ("sigmoid", "sigmoid_", "tanh", "tanh_", "softmax", "log_softmax", "exp", "log",
                         "abs", "sqrt", "pow", "clamp", "clamp_", "clip", "clamp_min", "clamp_max")},
    **{m: "maximum over input-dependent values (nonlinear)" for m in ("max", "amax", "min", "amin")},
}


def first_input(node: fx.Node):
    """The first tensor argument of a call (``args[0]`` or the ``input`` keyword)."""
    if node.args:
        return node.args[0]
    return node.kwargs.get("input", node.kwargs.get("self"))


def _is_zero(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def is_clamp_relu(node: fx.Node) -> bool:
    """``clamp(x, min=0)`` / ``x.clamp_min(0)`` without an upper bound: a ReLU in disguise."""
    if node.op == "call_function" and node.target in CLAMP_FUNCTIONS:
        rest = node.args[1:]
    elif node.op == "call_method" and node.target in CLAMP_METHODS:
        rest = node.args[1:]
    else:
        return False
    lo = rest[0] if rest else node.kwargs.get("min")
    hi = rest[1] if len(rest) > 1 else node.kwargs.get("max")
    return _is_zero(lo) and hi is None


def is_relu(node: fx.Node, gm: fx.GraphModule) -> bool:
    """Whether ``node`` is a ReLU in any spelling (module, function, method, in place or not)."""
    if node.op == "call_module":
        return isinstance(gm.get_submodule(node.target), nn.ReLU)
    if node.op == "call_function" and node.target in RELU_FUNCTIONS:
        return True
    if node.op == "call_method" and node.target in RELU_METHODS:
        return True
    return is_clamp_relu(node)


def _operands(node: fx.Node) -> list:
    return list(node.args) + list(node.kwargs.values())


def _product_decision(node: fx.Node, dynamic_tensor, division: bool) -> Decision:
    operands = _operands(node)
    if division:
        if any(dynamic_tensor(a) for a in operands[1:2]) or dynamic_tensor(node.kwargs.get("other")):
            return Decision("refuse", "division by an input-dependent tensor (nonlinear)")
        return Decision("keep", "division by a constant (linear)")
    if sum(1 for a in operands if dynamic_tensor(a)) >= 2:
        return Decision("refuse", "product of two input-dependent tensors (nonlinear)")
    return Decision("keep", "product with a constant (linear)")


def classify(node: fx.Node, gm: fx.GraphModule, dynamic_tensor) -> Decision:
    """Decide what happens to an input-dependent, tensor-valued operation node.

    Args:
        node: a ``call_module``/``call_function``/``call_method`` node.
        gm: the traced graph module (to look modules up).
        dynamic_tensor: predicate telling whether an argument is an input-dependent tensor.
    """
    if is_relu(node, gm):
        return Decision("relu", "ReLU")
    if node.op == "call_module":
        return _classify_module(gm.get_submodule(node.target))
    if node.op == "call_function":
        target = node.target
        if target in DROPOUT_FUNCTIONS:
            return Decision("dropout", "dropout is the identity at inference")
        if target is F.batch_norm:
            training = node.args[5] if len(node.args) > 5 else node.kwargs.get("training", False)
            if training:
                return Decision("refuse", "batch norm in training mode normalises by batch statistics")
            return Decision("keep", "eval-mode batch norm (affine map with the running statistics)")
        if target in KEEP_FUNCTIONS:
            return Decision("keep", KEEP_FUNCTIONS[target])
        if target in PRODUCT_FUNCTIONS:
            return _product_decision(node, dynamic_tensor, division=False)
        if target in DIVISION_FUNCTIONS:
            return _product_decision(node, dynamic_tensor, division=True)
        if target in REFUSE_FUNCTIONS:
            return Decision("refuse", REFUSE_FUNCTIONS[target])
        return Decision("refuse", "no conversion rule for this function (it may be nonlinear)")
    if node.op == "call_method":
        name = node.target
        if name in KEEP_METHODS:
            return Decision("keep", KEEP_METHODS[name])
        if name in PRODUCT_METHODS:
            return _product_decision(node, dynamic_tensor, division=False)
        if name in DIVISION_METHODS:
            return _product_decision(node, dynamic_tensor, division=True)
        if name in REFUSE_METHODS:
            return Decision("refuse", REFUSE_METHODS[name])
        return Decision("refuse", "no conversion rule for this method (it may be nonlinear)")
    raise ValueError(f"classify expects an operation node, got op={node.op!r}")


def mutates_first_input(node: fx.Node, gm: fx.GraphModule) -> bool:
    """Whether the call writes its result into its first argument (``relu_``, ``inplace=True``...)."""
    if node.op == "call_module":
        return bool(getattr(gm.get_submodule(node.target), "inplace", False))
    if node.op == "call_method":
        return node.target.endswith("_") and not node.target.endswith("__")
    if node.op == "call_function":
        if node.kwargs.get("inplace", False):
            return True
        if node.target is F.relu and len(node.args) > 1 and node.args[1] is True:
            return True
        name = getattr(node.target, "__name__", "")
        return node.target in (operator.iadd, operator.isub, operator.imul, operator.itruediv) or (
            name.endswith("_") and not name.endswith("__")
        )
    return False
