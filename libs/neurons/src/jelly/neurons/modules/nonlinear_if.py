r"""Quadratic (QIF) and exponential (EIF) integrate-and-fire neurons.

Per step ``t`` (one Euler step of width 1 of the continuous models)::

    QIF:  h[t] = v[t-1] + (x[t] + a0 (v[t-1] - v_rest)(v[t-1] - v_c)) / τ
    EIF:  h[t] = v[t-1] + (x[t] + v_rest - v[t-1] + Δ_T exp((v[t-1] - θ_rh)/Δ_T)) / τ
    s[t] = Θ(h[t] - v_th)
    v[t] = h[t] (1 - s[t]) + v_reset s[t]    (hard reset)
    v[t] = h[t] - v_th s[t]                  (soft reset, v_reset=None)

QIF: Ermentrout & Kopell 1986, SIAM J. Appl. Math. 46(2) (see Gerstner et al. 2014,
*Neuronal Dynamics*, ch. 5.3). EIF: Fourcaud-Trocmé et al. 2003, J. Neurosci. 23(37).
Same class names, arguments and equations as SpikingJelly's ``QIFNode``/``EIFNode``;
differences: ``backend=`` is accepted, and bad arguments raise ``ValueError``/``TypeError``
instead of failing an ``assert`` (``tau`` may be an int). See
:mod:`jelly.neurons.functional.nonlinear_if`.
"""

from __future__ import annotations

import torch

from ..backends.torch_nonlinear_if import EIF_OP, QIF_OP
from ..functional.nonlinear_if import EIFParams, QIFParams, eif_step, qif_step
from ._zoo_base import check_number
from .base_node import BaseNode


class _NonlinearIFNode(BaseNode):
    """Shared code of QIF/EIF: argument checks, the step (``_step_fn``) and the multi-step via the registry."""

    def _check_common(self, tau: float, v_rest: float, v_reset: float | None) -> tuple[float, float]:
        """``(tau, v_rest)`` checked: ``tau > 1`` and ``v_rest >= v_reset`` with a hard reset."""
        name = type(self).__name__
        tau = check_number(name, "tau", tau, gt=1.0)
        v_rest = check_number(name, "v_rest", v_rest)
        if v_reset is not None and not v_rest >= v_reset:
            raise ValueError(f"{name}: v_rest ({v_rest}) must be >= v_reset ({v_reset})")
        return tau, v_rest

    def _params(self):
        raise NotImplementedError

    @staticmethod
    def _step_fn(x, v, params, surrogate_function):
        raise NotImplementedError

    def _step(self, x: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._step_fn(x, v, self._params(), self.surrogate_function)

    def _multi_step(self, x_seq: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.describe(x_seq).fn(x_seq, v, self._params(), self.surrogate_function)


class QIFNode(_NonlinearIFNode):
    """Quadratic integrate-and-fire neuron (equations in the module docstring).

    Args:
        tau: membrane time constant, ``> 1``.
        v_c: critical voltage.
        a0: quadratic coefficient, ``> 0``.
        v_threshold: firing threshold.
        v_rest: resting potential (``>= v_reset`` with hard reset).
        v_reset: hard-reset potential; ``None`` for soft reset.
        surrogate_function, detach_reset, step_mode, backend, store_v_seq: see
            :class:`~jelly.neurons.modules.base_node.BaseNode`.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    op_name = QIF_OP
    _step_fn = staticmethod(qif_step)

    def __init__(
        self,
        tau: float = 2.0,
        v_c: float = 0.8,
        a0: float = 1.0,
        v_threshold: float = 1.0,
        v_rest: float = 0.0,
        v_reset: float | None = -0.1,
        surrogate_function=None,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "auto",
        store_v_seq: bool = False,
    ) -> None:
        name = type(self).__name__
        tau, v_rest = self._check_common(tau, v_rest, v_reset)
        a0 = check_number(name, "a0", a0, gt=0.0)
        v_c = check_number(name, "v_c", v_c)
        super().__init__(
            v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq
        )
        self.tau, self.v_c, self.a0, self.v_rest = tau, v_c, a0, v_rest

    def extra_repr(self) -> str:
        return f"tau={self.tau}, v_c={self.v_c}, a0={self.a0}, v_rest={self.v_rest}, " + super().extra_repr()

    def _params(self) -> QIFParams:
        return QIFParams(
            self.tau, self.v_c, self.a0, self.v_threshold, self.v_rest, self.v_reset, self.detach_reset
        )



class EIFNode(_NonlinearIFNode):
    """Exponential integrate-and-fire neuron (equations in the module docstring).

    Args:
        tau: membrane time constant, ``> 1``.
        delta_T: sharpness ``Δ_T`` of the exponential, ``> 0``.
        theta_rh: rheobase threshold ``θ_rh``.
        v_threshold: firing threshold.
        v_rest: resting potential (``>= v_reset`` with hard reset).
        v_reset: hard-reset potential; ``None`` for soft reset.
        surrogate_function, detach_reset, step_mode, backend, store_v_seq: see
            :class:`~jelly.neurons.modules.base_node.BaseNode`.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    op_name = EIF_OP
    _step_fn = staticmethod(eif_step)

    def __init__(
        self,
        tau: float = 2.0,
        delta_T: float = 1.0,
        theta_rh: float = 0.8,
        v_threshold: float = 1.0,
        v_rest: float = 0.0,
        v_reset: float | None = -0.1,
        surrogate_function=None,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "auto",
        store_v_seq: bool = False,
    ) -> None:
        name = type(self).__name__
        tau, v_rest = self._check_common(tau, v_rest, v_reset)
        delta_T = check_number(name, "delta_T", delta_T, gt=0.0)
        theta_rh = check_number(name, "theta_rh", theta_rh)
        super().__init__(
            v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq
        )
        self.tau, self.delta_T, self.theta_rh, self.v_rest = tau, delta_T, theta_rh, v_rest

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau}, delta_T={self.delta_T}, theta_rh={self.theta_rh}, v_rest={self.v_rest}, "
            + super().extra_repr()
        )

    def _params(self) -> EIFParams:
        return EIFParams(
            self.tau,
            self.delta_T,
            self.theta_rh,
            self.v_threshold,
            self.v_rest,
            self.v_reset,
            self.detach_reset,
        )
