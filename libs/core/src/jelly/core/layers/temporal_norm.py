r"""Batch normalisations over time and batch: tdBN and TEBN (multi-step only).

Both take ``[T, N, C, *]`` and compute the batch statistics of each channel over all
``T * N`` samples (and the spatial positions), then scale differently.

**tdBN**, threshold-dependent batch norm (Zheng et al., "Going Deeper With Directly-Trained
Larger Spiking Neural Networks", AAAI 2021):

.. math::

    y = \lambda \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta,
    \qquad \lambda \text{ initialised to } \alpha V_{th},

so the pre-activations are normalised to ``N(0, (α V_th)^2)``, matched to the threshold
``V_th`` of the next spiking layer. As in SpikingJelly, the ``α V_th`` factor lives in the
initial value of the affine ``weight`` (``affine=True`` is required), and ``bias`` starts
at 0; the paper's separate constant factor and a weight starting at 1 give the same forward
and the same training up to the scale of ``weight``'s gradient.

**TEBN**, temporal effective batch norm (Duan et al., "Temporal Effective Batch
Normalization in Spiking Neural Networks", NeurIPS 2022): the plain batch norm over
``T * N`` followed by a learnable per-step scale ``p[t]`` (``scale``, ``[T]``, init 1):

.. math::

    y[t] = p[t] \left(\gamma \frac{x[t] - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta\right).

In eval mode the running statistics (updated over ``T * N`` as ``nn.BatchNorm``) replace
``μ`` and ``σ^2``. Names and arguments follow SpikingJelly: ``ThresholdDependentBatchNorm2d(
alpha, v_th, num_features, eps, momentum, affine, track_running_stats)`` and
``TemporalEffectiveBatchNorm2d(T, num_features, ...)``; 1d and 3d variants too.
"""

from __future__ import annotations

import torch
from torch import nn

from ..base import StepModeError, StepModule
from ..functional import seq_to_ann_forward


class _TimeMergedBatchNorm(StepModule):
    """Mixin: check ``[T, N, C, *]`` and run the torch batch norm on ``[T * N, C, *]``."""

    _sample_dims: tuple[int, ...] = ()
    _layout: str = ""

    def supported_step_mode(self) -> tuple[str, ...]:
        """Multi-step only: the statistics are taken over all time steps."""
        return ("m",)

    def _init_step_mode(self, step_mode: str) -> None:
        if step_mode != "m":
            raise ValueError(
                f"{type(self).__name__} computes statistics over all T steps and runs in multi-step mode "
                f"only: step_mode must be 'm' (input [T, {self._layout}]), got {step_mode!r}"
            )
        self.step_mode = step_mode

    def _check_sequence(self, x_seq: torch.Tensor) -> None:
        if not isinstance(x_seq, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor, got {type(x_seq).__name__}")
        if x_seq.dim() - 2 not in self._sample_dims:
            expected = " or ".join(str(d + 2) for d in self._sample_dims)
            raise StepModeError(
                f"{type(self).__name__} is multi-step only and expects input [T, {self._layout}] with "
                f"{expected} dimensions, got shape {tuple(x_seq.shape)}"
            )
        if x_seq.shape[2] != self.num_features:
            raise ValueError(
                f"{type(self).__name__} has num_features={self.num_features}, got {x_seq.shape[2]} channels "
                f"(input shape {tuple(x_seq.shape)}, channels are dim 2 of [T, {self._layout}])"
            )

    def _normalise(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_sequence(x_seq)
        bn_forward = super().forward  # the torch batch norm of the concrete class
        return seq_to_ann_forward(x_seq, bn_forward)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self._normalise(x_seq)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, step_mode={self.step_mode}"


class _ThresholdDependentBatchNorm(_TimeMergedBatchNorm):
    def __init__(self, alpha: float, v_th: float, *args, step_mode: str = "m", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.affine:
            raise ValueError(f"{type(self).__name__} needs affine=True (its weight carries alpha * v_th)")
        self.alpha = float(alpha)
        self.v_th = float(v_th)
        if not self.alpha > 0 or not self.v_th > 0:
            raise ValueError(
                f"{type(self).__name__} needs alpha > 0 and v_th > 0, got alpha={alpha}, v_th={v_th}"
            )
        self._init_step_mode(step_mode)
        nn.init.constant_(self.weight, self.alpha * self.v_th)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, v_th={self.v_th}, {super().extra_repr()}"


class _TemporalEffectiveBatchNorm(_TimeMergedBatchNorm):
    def __init__(self, T: int, *args, step_mode: str = "m", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"{type(self).__name__} needs the number of time steps T >= 1, got {T!r}")
        self.T = T
        self._init_step_mode(step_mode)
        self.scale = nn.Parameter(torch.ones(T))

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_sequence(x_seq)
        if x_seq.shape[0] != self.T:
            raise StepModeError(
                f"{type(self).__name__} was built for T={self.T} time steps, got {x_seq.shape[0]} "
                f"(input shape {tuple(x_seq.shape)})"
            )
        y_seq = self._normalise(x_seq)
        return y_seq * self.scale.view(-1, *([1] * (y_seq.dim() - 1))).to(y_seq.dtype)

    def extra_repr(self) -> str:
        return f"T={self.T}, {super().extra_repr()}"


def _doc(kind: str, torch_name: str, layout: str) -> str:
    if kind == "td":
        head = (
            "Threshold-dependent batch norm (tdBN): ``nn.{t}`` over all ``T * N`` samples with its "
            "weight initialised to ``alpha * v_th``.\n\n"
            "    Args:\n"
            "        alpha: network-dependent factor (``> 0``; 1, or ``1/sqrt(2)`` before a residual sum).\n"
            "        v_th: threshold of the next spiking layer (``> 0``).\n"
        )
    else:
        head = (
            "Temporal effective batch norm (TEBN): ``nn.{t}`` over all ``T * N`` samples, then a "
            "learnable per-step scale ``scale[t]``.\n\n"
            "    Args:\n"
            "        T: number of time steps (the input must have exactly ``T``).\n"
        )
    return (
        head.format(t=torch_name)
        + f"        *args, **kwargs: as ``nn.{torch_name}`` (``num_features``, ``eps``, ``momentum``, ...).\n"
        + "        step_mode: must be ``'m'``.\n\n"
        + f"    Input ``[T, {layout}]``; another rank raises :class:`~jelly.core.base.StepModeError`.\n"
    )


def _make(kind: str, torch_cls: type[nn.Module], sample_dims: tuple[int, ...], layout: str) -> type:
    base = _ThresholdDependentBatchNorm if kind == "td" else _TemporalEffectiveBatchNorm
    prefix = "ThresholdDependent" if kind == "td" else "TemporalEffective"
    name = prefix + torch_cls.__name__
    return type(name, (base, torch_cls), {
        "__doc__": _doc(kind, torch_cls.__name__, layout),
        "__module__": __name__,
        "__qualname__": name,
        "_sample_dims": sample_dims,
        "_layout": layout,
    })


ThresholdDependentBatchNorm1d = _make("td", nn.BatchNorm1d, (1, 2), "N, C(, L)")
ThresholdDependentBatchNorm2d = _make("td", nn.BatchNorm2d, (3,), "N, C, H, W")
ThresholdDependentBatchNorm3d = _make("td", nn.BatchNorm3d, (4,), "N, C, D, H, W")
TemporalEffectiveBatchNorm1d = _make("te", nn.BatchNorm1d, (1, 2), "N, C(, L)")
TemporalEffectiveBatchNorm2d = _make("te", nn.BatchNorm2d, (3,), "N, C, H, W")
TemporalEffectiveBatchNorm3d = _make("te", nn.BatchNorm3d, (4,), "N, C, D, H, W")

__all__ = [
    "TemporalEffectiveBatchNorm1d",
    "TemporalEffectiveBatchNorm2d",
    "TemporalEffectiveBatchNorm3d",
    "ThresholdDependentBatchNorm1d",
    "ThresholdDependentBatchNorm2d",
    "ThresholdDependentBatchNorm3d",
]
