"""The ``cupy`` implementations of the multi-step neuron ops (same signatures as ``torch``'s).

Each function turns the op's ``params`` object into kernel template arguments and
constants and calls the custom ops of :mod:`.single_state` or :mod:`.multi_state`. A
surrogate without a CUDA functor (or in primitive mode) runs the ``torch`` backend
instead, with a warning once (the registry's check declines such a surrogate when the
caller passes it, see :func:`~.availability.check`).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from jelly.surrogates.cuda_sources import CudaSurrogate, UnsupportedSurrogateError, cuda_functor

from ..registry import _REGISTRY
from . import gated_lif, multi_state, single_state

_warned: set[tuple[str, object]] = set()


def _surrogate_or_none(op: str, surrogate_function) -> CudaSurrogate | None:
    """The CUDA functor, or ``None`` (with one warning per op and class) when there is none."""
    try:
        return cuda_functor(surrogate_function)
    except UnsupportedSurrogateError as error:
        key = (op, type(surrogate_function))
        if key not in _warned:
            _warned.add(key)
            warnings.warn(f"cupy backend of {op}: {error}; running the torch backend instead", RuntimeWarning,
                          stacklevel=3)
        return None


def _torch(op: str):
    return _REGISTRY[op]["torch"].fn


def _reciprocal(value: float) -> float:
    return float(np.float32(1.0) / np.float32(value))


def _reset(v_reset: float | None) -> str:
    return "jelly::neurons::SoftReset" if v_reset is None else "jelly::neurons::HardReset"


def _bool(value: bool) -> str:
    return "true" if value else "false"


# --------------------------------------------------------------------------- single state
def linear_charge_multistep(x_seq: torch.Tensor, v_init: torch.Tensor, params, surrogate_function,
                            w: torch.Tensor | None = None):
    """IF/LIF/PLIF: ``(spike_seq, v_seq)``."""
    op = "linear_charge_multistep"
    sg = _surrogate_or_none(op, surrogate_function)
    if sg is None:
        return _torch(op)(x_seq, v_init, params, surrogate_function, w)
    k = single_state.plif_k(w, x_seq.device) if params.kind == "plif" else None
    return single_state.run_single_state(x_seq, v_init, single_state.linear_charge_spec(params), sg, k)


def qif_multistep(x_seq: torch.Tensor, v_init: torch.Tensor, params, surrogate_function):
    """QIF: ``(spike_seq, v_seq)``."""
    sg = _surrogate_or_none("qif_multistep", surrogate_function)
    if sg is None:
        return _torch("qif_multistep")(x_seq, v_init, params, surrogate_function)
    return single_state.run_single_state(x_seq, v_init, single_state.qif_spec(params), sg)


def eif_multistep(x_seq: torch.Tensor, v_init: torch.Tensor, params, surrogate_function):
    """EIF: ``(spike_seq, v_seq)``."""
    sg = _surrogate_or_none("eif_multistep", surrogate_function)
    if sg is None:
        return _torch("eif_multistep")(x_seq, v_init, params, surrogate_function)
    return single_state.run_single_state(x_seq, v_init, single_state.eif_spec(params), sg)


def liaf_multistep(x_seq: torch.Tensor, v_init: torch.Tensor, params, act, threshold_related: bool,
                   surrogate_function):
    """LIAF: the LIF kernels return the charged membranes, ``act`` runs on them: ``(y_seq, v_seq)``."""
    op = "liaf_multistep"
    sg = _surrogate_or_none(op, surrogate_function)
    if sg is None:
        return _torch(op)(x_seq, v_init, params, act, threshold_related, surrogate_function)
    _, v_seq, h_seq = single_state.run_single_state(x_seq, v_init, single_state.linear_charge_spec(params), sg,
                                                    return_h=True)
    y_seq = act(h_seq - params.v_threshold) if threshold_related else act(h_seq)
    return y_seq, v_seq


# --------------------------------------------------------------------------- multi state
def cuba_lif_consts(p) -> list[float]:
    """Kernel constants of CUBA-LIF: ``c_decay, v_decay, v_th, v_reset``."""
    return [p.c_decay, p.v_decay, p.v_threshold, p.v_reset or 0.0]


def izhikevich_consts(p) -> list[float]:
    """Kernel constants of Izhikevich: ``1/tau, a0, v_rest, v_c, 1/tau_w, a, b, v_th, v_reset``."""
    return [_reciprocal(p.tau), p.a0, p.v_rest, p.v_c, _reciprocal(p.tau_w), p.a, p.b, p.v_threshold,
            p.v_reset or 0.0]


def klif_consts(p) -> list[float]:
    """Kernel constants of KLIF: ``1/tau, v_r (charge offset), v_th, v_reset``."""
    return [_reciprocal(p.tau), p.v_reset or 0.0, p.v_threshold, p.v_reset or 0.0]


def clif_consts(tau: float, v_threshold: float) -> list[float]:
    """Kernel constants of CLIF: ``1/tau, v_th``."""
    return [_reciprocal(tau), v_threshold]


def cuba_lif_multistep(x_seq: torch.Tensor, c_init: torch.Tensor, v_init: torch.Tensor, params,
                       surrogate_function):
    """CUBA-LIF: ``(spike_seq, v_seq, c_last)``."""
    op = "cuba_lif_multistep"
    sg = _surrogate_or_none(op, surrogate_function)
    if sg is None:
        return _torch(op)(x_seq, c_init, v_init, params, surrogate_function)
    reset = _reset(params.v_reset)
    return multi_state.run_multi_state("cuba_lif", x_seq, c_init, v_init, None, reset,
                                       f"{reset}, {sg.name}, {_bool(params.detach_reset)}", cuba_lif_consts(params),
                                       sg.params)


def izhikevich_multistep(x_seq: torch.Tensor, v_init: torch.Tensor, w_init: torch.Tensor, params,
                         surrogate_function):
    """Izhikevich: ``(spike_seq, v_seq, w_last)``."""
    op = "izhikevich_multistep"
    sg = _surrogate_or_none(op, surrogate_function)
    if sg is None:
        return _torch(op)(x_seq, v_init, w_init, params, surrogate_function)
    reset = _reset(params.v_reset)
    return multi_state.run_multi_state("izhikevich", x_seq, v_init, w_init, None, reset,
                                       f"{reset}, {sg.name}, {_bool(params.detach_reset)}",
                                       izhikevich_consts(params), sg.params)


def clif_multistep(x_seq: torch.Tensor, v_init: torch.Tensor, m_init: torch.Tensor, tau: float, v_threshold: float,
                   surrogate_function):
    """CLIF: ``(spike_seq, v_seq, m_seq)``."""
    op = "clif_multistep"
    sg = _surrogate_or_none(op, surrogate_function)
    if sg is None:
        return _torch(op)(x_seq, v_init, m_init, tau, v_threshold, surrogate_function)
    return multi_state.run_multi_state("clif", x_seq, v_init, m_init, None, "", sg.name,
                                       clif_consts(tau, v_threshold), sg.params)


def klif_multistep(x_seq: torch.Tensor, v_init: torch.Tensor, k: torch.Tensor, params, surrogate_function):
    """KLIF: ``(spike_seq, v_seq)``."""
    op = "klif_multistep"
    sg = _surrogate_or_none(op, surrogate_function)
    if sg is None:
        return _torch(op)(x_seq, v_init, k, params, surrogate_function)
    p = params
    template = f"{_reset(p.v_reset)}, {_bool(p.decay_input)}, {_bool(p.scale_reset)}"
    k32 = k.to(device=x_seq.device, dtype=torch.float32).reshape(1)
    spikes, v_seq, _ = multi_state.run_multi_state("klif", x_seq, v_init, None, k32, template,
                                                   f"{template}, {sg.name}, {_bool(p.detach_reset)}",
                                                   klif_consts(p), sg.params)
    return spikes, v_seq


def gated_lif_multistep(x_seq: torch.Tensor, u_init: torch.Tensor, spike_init: torch.Tensor, gates,
                        conduct_seq: torch.Tensor, surrogate_function):
    """GLIF (gates scalar or per channel, see :mod:`.gated_lif`): ``(spike_seq, u_seq)``.

    Gates that are neither scalars nor one value per channel (dimension 1 of one step) run
    the torch backend instead, with one warning.
    """
    op = "gated_lif_multistep"
    sg = _surrogate_or_none(op, surrogate_function)
    layout = None if sg is None else gated_lif.channel_layout(gates, conduct_seq, x_seq.shape[1:])
    if sg is not None and layout is None and (op, "gates") not in _warned:
        _warned.add((op, "gates"))
        shapes = [tuple(g.shape) for g in gates]
        warnings.warn(f"cupy backend of {op}: the gates {shapes} and conductances {tuple(conduct_seq.shape)} are "
                      f"neither scalars nor one value per channel of a step {tuple(x_seq.shape[1:])}; running the "
                      "torch backend instead", RuntimeWarning, stacklevel=2)
    if layout is None:
        return _torch(op)(x_seq, u_init, spike_init, gates, conduct_seq, surrogate_function)
    return gated_lif.run_gated_lif(x_seq, u_init, spike_init, gates, conduct_seq, layout, sg)


#: op name -> implementation (registered by the package's ``__init__``).
IMPLEMENTATIONS = {
    "linear_charge_multistep": linear_charge_multistep,
    "qif_multistep": qif_multistep,
    "eif_multistep": eif_multistep,
    "liaf_multistep": liaf_multistep,
    "cuba_lif_multistep": cuba_lif_multistep,
    "izhikevich_multistep": izhikevich_multistep,
    "clif_multistep": clif_multistep,
    "klif_multistep": klif_multistep,
    "gated_lif_multistep": gated_lif_multistep,
}
