r"""Graph rewrites before calibration: batch-norm folding and dropout removal.

An eval-mode batch norm after a convolution or linear layer is an affine map per channel,

.. math:: \mathrm{BN}(Wx + b) = \gamma \frac{Wx + b - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta
          = W' x + b',\quad W' = \frac{\gamma}{\sqrt{\sigma^2 + \epsilon}} W,\quad
          b' = \frac{\gamma (b - \mu)}{\sqrt{\sigma^2 + \epsilon}} + \beta

so it folds into the layer's weights (``torch.nn.utils.fusion``), exactly up to rounding.
"""

from __future__ import annotations

from collections import Counter

from torch import fx, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from .rules import first_input

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _fused(layer: nn.Module, bn: _BatchNorm, layer_node: fx.Node) -> nn.Module | None:
    if isinstance(layer, _CONV) and bn.num_features == layer.out_channels:
        return fuse_conv_bn_eval(layer, bn)
    if isinstance(layer, _CONV_T) and bn.num_features == layer.out_channels:
        return fuse_conv_bn_eval(layer, bn, transpose=True)
    if isinstance(layer, nn.Linear) and isinstance(bn, nn.BatchNorm1d) and bn.num_features == layer.out_features:
        meta = layer_node.meta.get("tensor_meta")
        if meta is not None and len(meta.shape) == 2:
            return fuse_linear_bn_eval(layer, bn)
    return None


def fold_batch_norms(gm: fx.GraphModule) -> list[tuple[str, str, str]]:
    """Fold every eval-mode batch norm that directly follows a conv/linear layer into it.

    A fold happens only when the layer's output feeds the batch norm alone and neither
    module is called elsewhere in the graph. The graph is modified in place.

    Returns:
        ``(bn node name, bn module path, layer module path)`` of each fold.
    """
    uses = Counter(n.target for n in gm.graph.nodes if n.op == "call_module")
    folds = []
    for node in list(gm.graph.nodes):
        if node.op != "call_module":
            continue
        bn = gm.get_submodule(node.target)
        if not isinstance(bn, _BatchNorm) or bn.running_mean is None or bn.training:
            continue
        prev = first_input(node)
        if not (isinstance(prev, fx.Node) and prev.op == "call_module" and len(prev.users) == 1):
            continue
        if uses[prev.target] != 1 or uses[node.target] != 1:
            continue
        layer = gm.get_submodule(prev.target)
        if layer.training:
            continue
        fused = _fused(layer, bn, prev)
        if fused is None:
            continue
        gm.add_submodule(prev.target, fused)
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
        folds.append((node.name, node.target, prev.target))
    return folds


def remove_node(gm: fx.GraphModule, node: fx.Node) -> None:
    """Drop an identity-at-inference node (dropout): its users read its input instead."""
    node.replace_all_uses_with(first_input(node))
    gm.graph.erase_node(node)
