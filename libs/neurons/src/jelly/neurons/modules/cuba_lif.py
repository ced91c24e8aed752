r"""Current-based LIF (CUBA-LIF) neuron: synaptic current ``c`` and membrane ``v``.

Per step ``t`` (the CUBA neuron of Loihi, Davies et al. 2018, IEEE Micro 38(1); both
decays are retention factors)::

    c[t] = c[t-1] · c_decay + x[t]
    h[t] = v[t-1] · v_decay + c[t]
    s[t] = Θ(h[t] - v_th)
    v[t] = h[t] (1 - s[t]) + v_reset s[t]   (hard)      v[t] = h[t] - v_th s[t]   (soft)

``c`` starts at 0 and ``v`` at ``v_reset`` (0 with soft reset). Same class name, first
arguments (``c_decay, v_decay, v_threshold, v_reset, surrogate_function``), defaults
(``Rect`` surrogate) and equations as SpikingJelly's ``CUBALIFNode``; the usual
``detach_reset, step_mode, backend, store_v_seq`` follow. Deliberate difference: a kept
``c`` of the wrong shape raises :class:`~jelly.core.base.StateShapeError` (SpikingJelly
silently re-initialises it). See :mod:`jelly.neurons.functional.cuba_lif`.
"""

from __future__ import annotations

from ..backends.torch_cuba_clif import CUBA_LIF_OP
from ..functional.cuba_lif import CUBALIFParams, cuba_lif_step
from ._zoo_base import MultiStateNode, check_number


def _default_rect():
    from jelly.surrogates.piecewise import Rect

    return Rect()


class CUBALIFNode(MultiStateNode):
    """Current-based LIF neuron (equations in the module docstring).

    Args:
        c_decay: retention factor of the synaptic current per step, in ``[0, 1]``.
        v_decay: retention factor of the membrane per step, in ``[0, 1]``.
        v_threshold: firing threshold.
        v_reset: hard-reset potential; ``None`` for soft reset.
        surrogate_function: default ``jelly.surrogates.piecewise.Rect()`` (as SpikingJelly).
        detach_reset, step_mode, backend, store_v_seq: see
            :class:`~jelly.neurons.modules.base_node.BaseNode`.

    State: ``v`` and the current ``c``.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    op_name = CUBA_LIF_OP
    extra_state_names = ("c",)

    def __init__(
        self,
        c_decay: float = 0.5,
        v_decay: float = 0.75,
        v_threshold: float = 0.5,
        v_reset: float | None = 0.0,
        surrogate_function=None,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "auto",
        store_v_seq: bool = False,
    ) -> None:
        name = type(self).__name__
        c_decay = check_number(name, "c_decay", c_decay, ge=0.0, le=1.0)
        v_decay = check_number(name, "v_decay", v_decay, ge=0.0, le=1.0)
        if surrogate_function is None:
            surrogate_function = _default_rect()
        super().__init__(
            v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq
        )
        self.c_decay, self.v_decay = c_decay, v_decay
        self.register_memory("c", 0.0)

    def extra_repr(self) -> str:
        return f"c_decay={self.c_decay}, v_decay={self.v_decay}, " + super().extra_repr()

    def _params(self) -> CUBALIFParams:
        return CUBALIFParams(self.c_decay, self.v_decay, self.v_threshold, self.v_reset, self.detach_reset)

    def _step_states(self, x, v, extras):
        spike, c_next, v_next = cuba_lif_step(x, extras[0], v, self._params(), self.surrogate_function)
        return spike, v_next, (c_next,)

    def _multi_step_states(self, x_seq, v, extras):
        spike_seq, v_seq, c_last = self.describe(x_seq).fn(
            x_seq, extras[0], v, self._params(), self.surrogate_function
        )
        return spike_seq, v_seq, (c_last,)
