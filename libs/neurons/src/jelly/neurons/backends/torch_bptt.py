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

from ..functional.integrate_fire import LinearChargeParams


def _heaviside(x: torch.Tensor) -> torch.Tensor:
    return (x >= 0).to(x.dtype)


def _charge_into(out: torch.Tensor, x: torch.Tensor, v: torch.Tensor, params: LinearChargeParams, k) -> None:
    """``out = linear_charge(x, v)`` with the reference's exact operation order, in place."""
    if params.kind == "if":
        torch.add(v, x, out=out)
        return
    v_r = params.v_reset
    v_rel = v if (v_r is None or v_r == 0.0) else v - v_r
    if params.decay_input:
        tmp = x - v_rel
        if params.kind == "lif":
            tmp.div_(params.tau)
        else:
            tmp.mul_(k)
        torch.add(v, tmp, out=out)
    else:
        tmp = v_rel / params.tau if params.kind == "lif" else v_rel * k
        torch.sub(v, tmp, out=out)
        out.add_(x)


def _reset_into(out: torch.Tensor, h: torch.Tensor, spike: torch.Tensor, params: LinearChargeParams) -> None:
    """Post-reset membrane from the float spike ``s`` (0 or 1), equal to the reference's
    ``(1 - s) h + s v_r`` (hard) or ``h - s v_th`` (soft) for finite ``h``.

    Float arithmetic only (boolean masks and ``torch.where`` are several times slower on CPU).
    """
    if params.v_reset is None:
        torch.sub(h, spike, alpha=params.v_threshold, out=out)
    elif params.v_reset == 0.0:
        torch.addcmul(h, h, spike, value=-1.0, out=out)  # h - h s: exactly 0 or h
    else:
        torch.addcmul(h, h, spike, value=-1.0, out=out)
        out.add_(spike, alpha=params.v_reset)  # 0 + v_r (s = 1) or h + 0 (s = 0)


class LinearChargeBPTT(torch.autograd.Function):
    """Multi-step IF/LIF/PLIF forward with a hand-written backward through time.

    Per time step the forward issues about six in-place tensor operations and the backward
    two (a multiply-add chain); everything that does not depend on the recurrence (the
    surrogate derivative, ``∂v/∂h``, the input gradient) is computed for all ``T`` steps at
    once. Saved for backward: ``h`` (``T × N × …`` values) and the initial membrane.
    """

    @staticmethod
    def forward(ctx, x_seq, v_init, w, params: LinearChargeParams, surrogate_function):
        # k stays in w's dtype (a 0-dim tensor, so 16-bit x stays 16-bit): like the reference,
        # a 16-bit membrane is multiplied by the unrounded k
        k = torch.sigmoid(w) if params.kind == "plif" else None
        h_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v = v_init
        for x, h, spike, v_out in zip(x_seq.unbind(0), h_seq.unbind(0), s_seq.unbind(0), v_seq.unbind(0)):
            _charge_into(h, x, v, params, k)
            torch.ge(h, params.v_threshold, out=spike)  # Θ(h - v_th) as 0./1. in x's dtype
            _reset_into(v_out, h, spike, params)
            v = v_out
        ctx.params = params
        ctx.surrogate_function = surrogate_function
        ctx.save_for_backward(h_seq, v_init, w if w is not None else torch.empty(0))
        ctx.has_w = w is not None
        ctx.set_materialize_grads(False)
        return s_seq, v_seq

    @staticmethod
    def backward(ctx, grad_s_seq, grad_v_seq):
        h_seq, v_init, w = ctx.saved_tensors
        params: LinearChargeParams = ctx.params
        v_th, v_r = params.v_threshold, params.v_reset
        u_seq = h_seq - v_th
        sg_seq = ctx.surrogate_function.derivative(u_seq)
        spike_seq = _heaviside(u_seq)
        # dv/dh for every step at once.
        if v_r is not None:
            dv_dh = 1.0 - spike_seq
            if not params.detach_reset:
                dv_dh.addcmul_(v_r - h_seq, sg_seq)
        else:
            dv_dh = None if params.detach_reset else torch.mul(sg_seq, -v_th).add_(1.0)
        if params.kind == "plif":
            k = torch.sigmoid(w)
            a, b = 1.0 - k, (k if params.decay_input else 1.0)
        elif params.kind == "lif":
            a = 1.0 - 1.0 / params.tau
            b = 1.0 / params.tau if params.decay_input else 1.0
        else:
            a, b = 1.0, 1.0
        # grad_h[t] = gs[t] sg[t] + (gv[t] + a grad_h[t+1]) dv/dh[t]: the only sequential part.
        # Unused outputs arrive as None (grads are not materialised as zeros).
        grad_h_seq = grad_s_seq * sg_seq if grad_s_seq is not None else torch.zeros_like(h_seq)
        if grad_v_seq is not None:
            if dv_dh is None:
                grad_h_seq.add_(grad_v_seq)
            else:
                grad_h_seq.addcmul_(grad_v_seq, dv_dh)
        T = h_seq.shape[0]
        carry = torch.empty_like(h_seq[0])
        for t in range(T - 2, -1, -1):
            torch.mul(grad_h_seq[t + 1], a, out=carry)
            if dv_dh is None:
                grad_h_seq[t].add_(carry)
            else:
                grad_h_seq[t].addcmul_(carry, dv_dh[t])
        grad_x_seq = grad_h_seq * b if not (isinstance(b, float) and b == 1.0) else grad_h_seq
        grad_v_init = grad_h_seq[0] * a if ctx.needs_input_grad[1] else None
        grad_w = None
        if ctx.has_w and ctx.needs_input_grad[2]:
            # v[t-1] for every step, recomputed from h (the forward's reset, vectorised).
            v_prev = torch.empty_like(h_seq)
            v_prev[0] = v_init
            if T > 1:
                _reset_into(v_prev[1:], h_seq[:-1], spike_seq[:-1], params)
            if params.decay_input:
                dh_dk = (h_seq - v_prev).div_(k)  # = x - (v - v_r), recovered without saving x
            else:
                dh_dk = v_prev.neg_() if (v_r is None or v_r == 0.0) else v_prev.sub_(v_r).neg_()
            grad_k = (grad_h_seq * dh_dk).sum(dtype=torch.float64 if h_seq.dtype == torch.float64 else torch.float32)
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
