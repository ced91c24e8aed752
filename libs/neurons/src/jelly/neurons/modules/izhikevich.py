r"""Izhikevich neuron: quadratic membrane ``v`` and adaptation current ``w``.

Per step ``t`` (Izhikevich 2003, "Simple model of spiking neurons", IEEE Trans. Neural
Netw. 14(6), in SpikingJelly's discrete form)::

    h[t] = v[t-1] + (x[t] + a0 (v[t-1] - v_rest)(v[t-1] - v_c) - w[t-1]) / τ
    s[t] = Θ(h[t] - v_th)
    w[t] = w[t-1] + (a (h[t] - v_rest) - w[t-1]) / τ_w + b s[t]
    v[t] = h[t] (1 - s[t]) + v_reset s[t]   (hard)      v[t] = h[t] - v_th s[t]   (soft)

``v`` starts at ``v_reset`` (0 with soft reset) and ``w`` at ``w_rest``. Same class name,
arguments and forward values as SpikingJelly's ``IzhikevichNode``. Deliberate differences:
``detach_reset=True`` also detaches the spike in the jump ``b s[t]``; a kept ``w`` of the
wrong shape raises :class:`~jelly.core.base.StateShapeError` (SpikingJelly silently
re-initialises it). See :mod:`jelly.neurons.functional.izhikevich`.
"""

from __future__ import annotations

from ..backends.torch_izhikevich import IZHIKEVICH_OP
from ..functional.izhikevich import IzhikevichParams, izhikevich_step
from ._zoo_base import MultiStateNode, check_number


class IzhikevichNode(MultiStateNode):
    """Izhikevich neuron (equations in the module docstring).

    Args:
        tau: membrane time constant, ``> 1``.
        v_c: critical voltage.
        a0: quadratic coefficient, ``> 0``.
        v_threshold: firing threshold.
        v_reset: hard-reset potential; ``None`` for soft reset.
        v_rest: resting potential.
        w_rest: initial (reset) value of the adaptation current ``w``.
        tau_w: time constant of ``w``, ``> 0``.
        a: subthreshold coupling of ``w`` to the membrane.
        b: spike-triggered jump of ``w``.
        surrogate_function, detach_reset, step_mode, backend, store_v_seq: see
            :class:`~jelly.neurons.modules.base_node.BaseNode`.

    State: ``v`` and ``w``, both shaped like one input step after the first call.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    op_name = IZHIKEVICH_OP
    extra_state_names = ("w",)

    def __init__(
        self,
        tau: float = 2.0,
        v_c: float = 0.8,
        a0: float = 1.0,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        v_rest: float = -0.1,
        w_rest: float = 0.0,
        tau_w: float = 2.0,
        a: float = 0.0,
        b: float = 0.0,
        surrogate_function=None,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "auto",
        store_v_seq: bool = False,
    ) -> None:
        name = type(self).__name__
        tau = check_number(name, "tau", tau, gt=1.0)
        a0 = check_number(name, "a0", a0, gt=0.0)
        tau_w = check_number(name, "tau_w", tau_w, gt=0.0)
        v_c = check_number(name, "v_c", v_c)
        v_rest = check_number(name, "v_rest", v_rest)
        w_rest = check_number(name, "w_rest", w_rest)
        a = check_number(name, "a", a)
        b = check_number(name, "b", b)
        super().__init__(
            v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq
        )
        self.tau, self.v_c, self.a0, self.v_rest = tau, v_c, a0, v_rest
        self.w_rest, self.tau_w, self.a, self.b = w_rest, tau_w, a, b
        self.register_memory("w", w_rest)

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau}, v_c={self.v_c}, a0={self.a0}, v_rest={self.v_rest}, w_rest={self.w_rest}, "
            f"tau_w={self.tau_w}, a={self.a}, b={self.b}, " + super().extra_repr()
        )

    def _params(self) -> IzhikevichParams:
        return IzhikevichParams(
            self.tau,
            self.v_c,
            self.a0,
            self.v_threshold,
            self.v_reset,
            self.v_rest,
            self.tau_w,
            self.a,
            self.b,
            self.detach_reset,
        )

    def _step_states(self, x, v, extras):
        spike, v_next, w_next = izhikevich_step(x, v, extras[0], self._params(), self.surrogate_function)
        return spike, v_next, (w_next,)

    def _multi_step_states(self, x_seq, v, extras):
        spike_seq, v_seq, w_last = self.describe(x_seq).fn(
            x_seq, v, extras[0], self._params(), self.surrogate_function
        )
        return spike_seq, v_seq, (w_last,)
