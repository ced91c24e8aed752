r"""Complementary LIF (CLIF) neuron: LIF plus a complementary potential ``m``.

Per step ``t`` (Huang et al. 2024, "CLIF: Complementary Leaky Integrate-and-Fire Neuron
for Spiking Neural Networks", ICML, PMLR 235; ``σ`` the logistic sigmoid)::

    h[t] = (1 - 1/τ) v[t-1] + x[t]
    s[t] = Θ(h[t] - v_th)
    m[t] = m[t-1] σ(h[t] / τ) + s[t]
    v[t] = h[t] - s[t] (v_th + σ(m[t]))

Soft reset only, no ``detach_reset``; ``v`` and ``m`` start at 0. Same class name,
arguments, default surrogate (``Rect(alpha=1)``) and equations as SpikingJelly's
``ComplementaryLIFNode`` (plus ``backend=``). ``store_state_seqs=True`` keeps
``state_seqs = [v_seq, m_seq]`` after a multi-step call. Deliberate difference: a kept
``m`` of the wrong shape raises :class:`~jelly.core.base.StateShapeError`. See
:mod:`jelly.neurons.functional.clif`.
"""

from __future__ import annotations

from ..backends.torch_cuba_clif import CLIF_OP
from ..functional.clif import clif_step
from ._zoo_base import MultiStateNode, check_number


def _default_rect():
    from jelly.surrogates.piecewise import Rect

    return Rect(alpha=1.0)


class ComplementaryLIFNode(MultiStateNode):
    """CLIF neuron (equations in the module docstring).

    Args:
        tau: membrane time constant, ``> 1``.
        v_threshold: firing threshold, ``> 0``.
        surrogate_function: default ``jelly.surrogates.piecewise.Rect(alpha=1.0)``.
        step_mode: ``'s'`` or ``'m'``.
        store_state_seqs: in ``'m'`` mode keep ``state_seqs = [v_seq, m_seq]``.
        backend: see :class:`~jelly.neurons.modules.base_node.BaseNode`.

    State: ``v``, ``m`` (and ``state_seqs``), all cleared by ``reset()``.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    op_name = CLIF_OP
    extra_state_names = ("m",)

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        surrogate_function=None,
        step_mode: str = "s",
        store_state_seqs: bool = False,
        backend: str = "auto",
    ) -> None:
        name = type(self).__name__
        tau = check_number(name, "tau", tau, gt=1.0)
        v_threshold = check_number(name, "v_threshold", v_threshold, gt=0.0)
        if surrogate_function is None:
            surrogate_function = _default_rect()
        super().__init__(v_threshold, None, surrogate_function, False, step_mode, backend, False)
        self.tau = tau
        self.store_state_seqs = bool(store_state_seqs)
        self.register_memory("m", 0.0)
        self.register_memory("state_seqs", None)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, store_state_seqs={self.store_state_seqs}, " + super().extra_repr()

    def _step_states(self, x, v, extras):
        spike, v_next, m_next = clif_step(
            x, v, extras[0], self.tau, self.v_threshold, self.surrogate_function
        )
        return spike, v_next, (m_next,)

    def _multi_step_states(self, x_seq, v, extras):
        spike_seq, v_seq, m_seq = self.describe(x_seq).fn(
            x_seq, v, extras[0], self.tau, self.v_threshold, self.surrogate_function
        )
        if self.store_state_seqs:
            self.state_seqs = [v_seq, m_seq]
        return spike_seq, v_seq, (m_seq[-1],)
