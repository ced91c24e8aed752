r"""The ``torch`` backend: multi-step IF/LIF/PLIF as one autograd node per layer.

The forward runs the reference expressions step by step without building a graph and
saves only the charged membrane ``h[t]`` (one tensor of ``T × N × …`` elements, i.e. one
value per element per step; spikes and post-reset membranes are recomputed from it). The
backward runs backpropagation through time by hand over the saved ``h``:

.. math::

    s_t = Θ(h_t - v_{th}),\quad σ_t = g'(h_t - v_{th})

    \frac{∂v_t}{∂h_t} = \begin{cases} 1 - s_t + (v_r - h_t) σ_t & \text{hard reset} \\
                                      1 - v_{th} σ_t & \text{soft reset}\end{cases}
    \quad(\text{the } σ_t \text{ term is dropped with } detach\_reset)

    \bar h_t = \bar s_t σ_t + \bar v_t \frac{∂v_t}{∂h_t},\qquad
    \bar v_{t-1} = \bar v^{out}_{t-1} + a\,\bar h_t,\qquad \bar x_t = b\,\bar h_t

with ``h = a v + b x + c``: IF ``a = b = 1``; LIF ``a = 1 - 1/τ`` and ``b = 1/τ``
(``decay_input``) or ``1``; PLIF the same with ``k = 1/τ = sigmoid(w)`` and
``∂h/∂k = x - (v - v_r)`` (``decay_input``) or ``-(v - v_r)``, accumulated into ``∂L/∂w``.
"""

from __future__ import annotations

import torch

from ..functional.integrate_fire import LinearChargeParams, linear_charge, neuronal_reset


def _heaviside(x: torch.Tensor) -> torch.Tensor:
    return (x >= 0).to(x.dtype)


class LinearChargeBPTT(torch.autograd.Function):
    """Multi-step IF/LIF/PLIF forward with a hand-written backward through time."""

    @staticmethod
    def forward(ctx, x_seq, v_init, w, params: LinearChargeParams, surrogate_function):
        k = torch.sigmoid(w) if params.kind == "plif" else None
        T = x_seq.shape[0]
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        v = v_init
        for t in range(T):
            h = linear_charge(x_seq[t], v, params, k)
            h_seq[t] = h
            spike = _heaviside(h - params.v_threshold)
            s_seq[t] = spike
            v = neuronal_reset(h, spike, params.v_threshold, params.v_reset, False)
            v_seq[t] = v
        ctx.params = params
        ctx.surrogate_function = surrogate_function
        ctx.save_for_backward(h_seq, v_init, w if w is not None else torch.empty(0))
        ctx.has_w = w is not None
        return s_seq, v_seq

    @staticmethod
    def backward(ctx, grad_s_seq, grad_v_seq):
        h_seq, v_init, w = ctx.saved_tensors
        params: LinearChargeParams = ctx.params
        sg_fn = ctx.surrogate_function
        T = h_seq.shape[0]
        v_th = params.v_threshold
        v_r = params.v_reset
        hard = v_r is not None
        if params.kind == "if":
            a, b = 1.0, 1.0
        elif params.kind == "lif":
            a = 1.0 - 1.0 / params.tau
            b = 1.0 / params.tau if params.decay_input else 1.0
        else:
            k = torch.sigmoid(w)
            a = 1.0 - k
            b = k if params.decay_input else 1.0
        grad_s_seq = grad_s_seq if grad_s_seq is not None else torch.zeros_like(h_seq)
        grad_v_seq = grad_v_seq if grad_v_seq is not None else torch.zeros_like(h_seq)
        grad_x_seq = torch.empty_like(h_seq)
        need_w = ctx.has_w and ctx.needs_input_grad[2]
        grad_k = torch.zeros((), dtype=torch.float64 if h_seq.dtype == torch.float64 else torch.float32,
                             device=h_seq.device) if need_w else None
        grad_h_next = None  # dL/dh[t+1]
        for t in range(T - 1, -1, -1):
            h = h_seq[t]
            u = h - v_th
            sg = sg_fn.derivative(u)
            spike = _heaviside(u)
            if hard:
                dv_dh = 1.0 - spike
                if not params.detach_reset:
                    dv_dh = dv_dh + (v_r - h) * sg
            else:
                dv_dh = (1.0 - v_th * sg) if not params.detach_reset else None
            grad_v = grad_v_seq[t]
            if grad_h_next is not None:
                grad_v = grad_v + grad_h_next * a
            grad_h = grad_s_seq[t] * sg
            grad_h = grad_h + (grad_v * dv_dh if dv_dh is not None else grad_v)
            grad_x_seq[t] = grad_h * b
            if need_w:
                if t > 0:
                    v_prev = neuronal_reset(h_seq[t - 1], _heaviside(h_seq[t - 1] - v_th), v_th, v_r, False)
                else:
                    v_prev = v_init
                v_rel = v_prev if (v_r is None or v_r == 0.0) else v_prev - v_r
                if params.decay_input:
                    # x - (v - v_r) = (h - v) / k, recovered without saving x.
                    dh_dk = (h - v_prev) / k
                else:
                    dh_dk = -v_rel
                grad_k = grad_k + (grad_h * dh_dk).sum()
            grad_h_next = grad_h
        grad_v_init = grad_h_next * a if ctx.needs_input_grad[1] else None
        grad_w = None
        if need_w:
            grad_w = (grad_k * k * (1.0 - k)).to(w.dtype).reshape(w.shape)
        return grad_x_seq, grad_v_init, grad_w, None, None


def linear_charge_multistep_torch(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    params: LinearChargeParams,
    surrogate_function,
    w: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step IF/LIF/PLIF with the fused BPTT backward (``[T, N, *]`` in and out)."""
    return LinearChargeBPTT.apply(x_seq, v_init, w, params, surrogate_function)
