"""Step-mode-aware layers and containers (SpikingJelly's ``layer`` module).

Stateless layers take ``step_mode='s'`` (``[N, *]``) or ``'m'`` (``[T, N, *]``, with
``T`` merged into the batch). Dropouts share one mask over all time steps of a sample.
"""

from .containers import MultiStepContainer, SeqToANNContainer, StepModeContainer
from .dropout import Dropout, Dropout2d
from .stateless import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    Flatten,
    GroupNorm,
    LayerNorm,
    Linear,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    Upsample,
)

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AvgPool1d", "AvgPool2d",
    "AvgPool3d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "Conv1d", "Conv2d", "Conv3d",
    "ConvTranspose1d", "ConvTranspose2d", "Dropout", "Dropout2d", "Flatten", "GroupNorm",
    "LayerNorm", "Linear", "MaxPool1d", "MaxPool2d", "MaxPool3d", "MultiStepContainer",
    "SeqToANNContainer", "StepModeContainer", "Upsample",
]

from .recurrent import ElementWiseRecurrentContainer, LinearRecurrentContainer  # noqa: E402
from .synapse import SynapseFilter  # noqa: E402
from .temporal_norm import (  # noqa: E402
    TemporalEffectiveBatchNorm1d,
    TemporalEffectiveBatchNorm2d,
    TemporalEffectiveBatchNorm3d,
    ThresholdDependentBatchNorm1d,
    ThresholdDependentBatchNorm2d,
    ThresholdDependentBatchNorm3d,
)

__all__ += [
    "ElementWiseRecurrentContainer", "LinearRecurrentContainer", "SynapseFilter",
    "TemporalEffectiveBatchNorm1d", "TemporalEffectiveBatchNorm2d", "TemporalEffectiveBatchNorm3d",
    "ThresholdDependentBatchNorm1d", "ThresholdDependentBatchNorm2d", "ThresholdDependentBatchNorm3d",
]
