"""ANN-to-SNN conversion for Jelly.

Trace a trained ReLU network with ``torch.fx``, fold its batch norms, record activation
statistics on calibration data and replace every ReLU (``nn.ReLU``, ``F.relu``,
``torch.relu``, ``Tensor.relu``, their in-place forms, ``clamp(min=0)``) by
``VoltageScaler(1/λ) → IFNode(soft reset) → VoltageScaler(λ)``. A report says what was
replaced, folded, removed, kept and left; ops that would make the SNN diverge are errors
unless allowed.

Porting from SpikingJelly::

    from jelly import ann2snn

    snn = ann2snn.Converter(train_loader, mode="99.9%")(ann)
    print(snn.report)
    acc = ann2snn.accuracy_vs_time(snn, test_loader, [10, 50, 100])
"""

from ._version import __version__
from .converter import Converter
from .errors import ConversionError, TracingError, UnsupportedOperationError
from .modes import NormMode, parse_mode
from .modules import ExpandTime, SpikingActivation, VoltageHook, VoltageScaler
from .network import SpikingNetwork
from .report import ConversionReport, NodeRecord
from .simulation import accuracy_vs_time, simulate

__all__ = [
    "__version__",
    "Converter",
    "ConversionError",
    "TracingError",
    "UnsupportedOperationError",
    "NormMode",
    "parse_mode",
    "ExpandTime",
    "SpikingActivation",
    "VoltageHook",
    "VoltageScaler",
    "SpikingNetwork",
    "ConversionReport",
    "NodeRecord",
    "accuracy_vs_time",
    "simulate",
]
