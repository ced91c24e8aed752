"""Step-mode-aware wrappers of stateless torch layers.

Each class is the torch layer of the same name with a ``step_mode`` argument:

* ``'s'``: input ``[N, *]``, exactly as the torch layer.
* ``'m'``: input ``[T, N, *]``; ``T`` is merged into the batch, the layer runs once on
  ``[T * N, *]`` and the result is split back to ``[T, N, *']`` (see
  :func:`jelly.core.functional.seq_to_ann_forward`). Batch norms therefore compute their
  statistics over all ``T * N`` samples, as in SpikingJelly.

Inputs whose rank does not fit the step mode raise :class:`~jelly.core.base.StepModeError`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..base import StepModeError, StepModule
from ..functional import seq_to_ann_forward


class _SeqToANNLayer(StepModule):
    """Mixin: run the wrapped stateless torch layer per step mode.

    ``_sample_dims`` is the number of dimensions of one sample *without* the batch (e.g. 3
    for ``Conv2d``: ``C, H, W``); ``None`` means any rank is accepted (``Linear``).
    """

    _sample_dims: int | tuple[int, ...] | None = None

    def _check_rank(self, x: torch.Tensor) -> None:
        if self._sample_dims is None:
            return
        allowed = self._sample_dims if isinstance(self._sample_dims, tuple) else (self._sample_dims,)
        extra = 1 if self.step_mode == "s" else 2
        if x.dim() - extra not in allowed:
            layout = "[N, ...]" if self.step_mode == "s" else "[T, N, ...]"
            expected = " or ".join(str(d + extra) for d in allowed)
            hint = " (did you mean step_mode='m'?)" if self.step_mode == "s" else " (did you mean step_mode='s'?)"
            raise StepModeError(
                f"{type(self).__name__} in step_mode={self.step_mode!r} expects input {layout} with "
                f"{expected} dimensions, got shape {tuple(x.shape)}{hint}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_rank(x)
        if self.step_mode == "s":
            return super().forward(x)
        return seq_to_ann_forward(x, super().forward)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, step_mode={self.step_mode}"


def _init_step_mode(layer: StepModule, step_mode: str) -> None:
    layer.step_mode = step_mode


class Linear(_SeqToANNLayer, nn.Linear):
    """``nn.Linear`` with a step mode. Any leading dims are allowed in both modes."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, step_mode: str = "s", **kw) -> None:
        super().__init__(in_features, out_features, bias=bias, **kw)
        _init_step_mode(self, step_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Linear acts on the last dim, so [T, N, *, C] needs no reshaping in either mode.
        if self.step_mode == "m" and x.dim() < 3:
            raise StepModeError(
                f"Linear in step_mode='m' expects input [T, N, ..., {self.in_features}], got shape "
                f"{tuple(x.shape)} (did you mean step_mode='s'?)"
            )
        return nn.Linear.forward(self, x)


def _make_layer(torch_cls: type[nn.Module], sample_dims, doc: str) -> type:
    """Build the step-mode-aware subclass of ``torch_cls``."""

    def __init__(self, *args, step_mode: str = "s", **kwargs) -> None:
        torch_cls.__init__(self, *args, **kwargs)
        _init_step_mode(self, step_mode)

    cls = type(torch_cls.__name__, (_SeqToANNLayer, torch_cls), {
        "__init__": __init__,
        "__doc__": doc,
        "_sample_dims": sample_dims,
        "__module__": __name__,
    })
    return cls


def _doc(name: str, layout: str) -> str:
    return (
        f"``nn.{name}`` with a step mode: ``'s'`` takes ``[N, {layout}]``, ``'m'`` takes "
        f"``[T, N, {layout}]`` (``T`` merged into the batch). Arguments as ``nn.{name}``, plus "
        "``step_mode``."
    )


Conv1d = _make_layer(nn.Conv1d, 2, _doc("Conv1d", "C, L"))
Conv2d = _make_layer(nn.Conv2d, 3, _doc("Conv2d", "C, H, W"))
Conv3d = _make_layer(nn.Conv3d, 4, _doc("Conv3d", "C, D, H, W"))
ConvTranspose1d = _make_layer(nn.ConvTranspose1d, 2, _doc("ConvTranspose1d", "C, L"))
ConvTranspose2d = _make_layer(nn.ConvTranspose2d, 3, _doc("ConvTranspose2d", "C, H, W"))
BatchNorm1d = _make_layer(nn.BatchNorm1d, (1, 2), _doc("BatchNorm1d", "C(, L)"))
BatchNorm2d = _make_layer(nn.BatchNorm2d, 3, _doc("BatchNorm2d", "C, H, W"))
BatchNorm3d = _make_layer(nn.BatchNorm3d, 4, _doc("BatchNorm3d", "C, D, H, W"))
GroupNorm = _make_layer(nn.GroupNorm, None, _doc("GroupNorm", "C, *"))
LayerNorm = _make_layer(nn.LayerNorm, None, _doc("LayerNorm", "*"))
MaxPool1d = _make_layer(nn.MaxPool1d, 2, _doc("MaxPool1d", "C, L"))
MaxPool2d = _make_layer(nn.MaxPool2d, 3, _doc("MaxPool2d", "C, H, W"))
MaxPool3d = _make_layer(nn.MaxPool3d, 4, _doc("MaxPool3d", "C, D, H, W"))
AvgPool1d = _make_layer(nn.AvgPool1d, 2, _doc("AvgPool1d", "C, L"))
AvgPool2d = _make_layer(nn.AvgPool2d, 3, _doc("AvgPool2d", "C, H, W"))
AvgPool3d = _make_layer(nn.AvgPool3d, 4, _doc("AvgPool3d", "C, D, H, W"))
AdaptiveAvgPool1d = _make_layer(nn.AdaptiveAvgPool1d, 2, _doc("AdaptiveAvgPool1d", "C, L"))
AdaptiveAvgPool2d = _make_layer(nn.AdaptiveAvgPool2d, 3, _doc("AdaptiveAvgPool2d", "C, H, W"))
AdaptiveAvgPool3d = _make_layer(nn.AdaptiveAvgPool3d, 4, _doc("AdaptiveAvgPool3d", "C, D, H, W"))
Upsample = _make_layer(nn.Upsample, None, _doc("Upsample", "C, *"))


class Flatten(_SeqToANNLayer, nn.Flatten):
    """``nn.Flatten`` with a step mode.

    ``start_dim``/``end_dim`` count the dims of ``[N, *]`` in both modes (the time dim of
    ``'m'`` input is not counted), so ``Flatten()`` maps ``[T, N, C, H, W]`` to
    ``[T, N, C*H*W]`` in ``'m'`` mode, as SpikingJelly does.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1, step_mode: str = "s") -> None:
        super().__init__(start_dim, end_dim)
        _init_step_mode(self, step_mode)
