r"""Jelly encoders: turn analog inputs into spike trains.

* :class:`PoissonEncoder` (stateless): :math:`s[t] = \mathbb{1}[u[t] < x]`, :math:`u \sim U[0, 1)`,
  so each step fires with probability :math:`x`.
* :class:`LatencyEncoder` (stateful): one spike per period at
  :math:`t_f = \operatorname{round}((T-1)(1-x))`, or
  :math:`\operatorname{round}((T-1) - \ln(\alpha x + 1))` with :math:`\alpha = e^{T-1} - 1`.
* :class:`PeriodicEncoder` (stateful): replays a given pattern, :math:`s[k] = P[k \bmod T]`.
* :class:`WeightedPhaseEncoder` (stateful): binary digits
  :math:`s_i = \lfloor 2^{i+1} x \rfloor \bmod 2` of weight :math:`2^{-(i+1)}`, :math:`i < K`.
* :class:`GaussianTuningCurveEncoder` (stateful): Gaussian receptive fields per feature,
  latency-coded (population coding).

Stateful encoders compute the spike train of a sample once (first call after ``reset()``)
and then read it step by step; see :mod:`jelly.encoders.base`.

Porting from SpikingJelly::

    from jelly import encoders as encoding
    encoder = encoding.PoissonEncoder()
"""

from ._version import __version__
from .base import StatefulEncoder, StatelessEncoder
from .gaussian_tuning import GaussianTuningCurveEncoder
from .latency import LatencyEncoder
from .periodic import PeriodicEncoder
from .poisson import PoissonEncoder
from .weighted_phase import WeightedPhaseEncoder

__all__ = [
    "__version__",
    "StatelessEncoder",
    "StatefulEncoder",
    "PoissonEncoder",
    "LatencyEncoder",
    "PeriodicEncoder",
    "WeightedPhaseEncoder",
    "GaussianTuningCurveEncoder",
]
