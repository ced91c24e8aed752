r"""Numba kernels of the fused CPU backend of IF/LIF/PLIF (imported only on first use).

Layout: every sequence is a C-contiguous ``[T, M]`` array (``M`` = elements per step) and
the initial membrane a ``[M]`` array. A kernel call handles the elements ``[start, stop)``
and releases the GIL (``nogil``), so the caller runs disjoint ranges on several threads
(:mod:`jelly.neurons.backends.numba_cpu`). Within a range the elements are cut into blocks
of :data:`BLOCK` consecutive elements and each block runs the whole time loop, ``t``
outside and the elements of the block inside, so that every memory access is contiguous
and the inner loop (a plain expression over a row of the block, with every branch hoisted
out of it) is vectorised by LLVM.

Forward (in the dtype of the input, the reference's operation order, so spikes and
membranes are bit-identical to the per-step autograd loop):

* charge, ``mode`` 0: ``h = v + x`` (IF); 1: ``h = v + (x - (v - v_r)) / c`` (LIF,
  ``c = τ``); 2: ``h = v + (x - (v - v_r)) * c`` (PLIF, ``c = k``); 3:
  ``h = v - (v - v_r) / c + x``; 4: ``h = v - (v - v_r) * c + x`` (``decay_input=False``).
  ``v - v_r`` with ``v_r = 0`` is ``v`` exactly, so one form covers both reset kinds.
* fire ``s = h >= v_th`` and reset ``v = v_r`` (hard) or ``v = h - v_th`` (soft) where
  fired, else ``v = h``.

Backward (float64 arithmetic, per element from the last step back, as in
:mod:`jelly.neurons.backends.torch_bptt`): with ``σ = g'(h - v_th)``,
``∂v/∂h = 1 - s + (v_r - h) σ`` (hard) or ``1 - v_th σ`` (soft; the ``σ`` term is dropped
with ``detach_reset``), ``ḡ_h[t] = ḡ_s[t] σ + (ḡ_v[t] + a ḡ_h[t+1]) ∂v/∂h``,
``ḡ_x[t] = b ḡ_h[t]``, ``ḡ_{v_init} = a ḡ_h[0]`` and, for PLIF,
``∂L/∂k = Σ ḡ_h[t] ∂h/∂k`` with ``∂h/∂k = x - (v - v_r) = (h - v) / k`` (``decay_input``)
or ``-(v - v_r)``, ``v = v[t-1]`` recomputed from ``h[t-1]``.

The surrogate derivative ``g'`` is selected by an integer code (see
:data:`SURROGATE_CODES`) with up to two float hyper-parameters: :func:`surrogate_slopes`
evaluates it for a row, :func:`surrogate_derivative` for one value.
"""

from __future__ import annotations

import math

import numba
import numpy as np

BLOCK = 512
"""Elements per parallel work item (a multiple of the SIMD width)."""

SURROGATE_CODES = {
    "ATan": 0,
    "Sigmoid": 1,
    "PiecewiseQuadratic": 2,
    "SoftSign": 3,
    "Erf": 4,
    "PiecewiseExp": 5,
    "PiecewiseLeakyReLU": 6,
    "Rect": 7,
    "QPseudoSpike": 8,
    "S2NN": 9,
    "LogTailedReLU": 10,
    "FakeNumericalGradient": 11,
    "LeakyKReLU": 12,
    "SquarewaveFourierSeries": 13,
    "SuperSpike": 14,
    "NonzeroSignLogAbs": 15,
    "DeterministicPass": 16,
}
"""Surrogate class name -> code understood by :func:`surrogate_derivative`."""

_JIT = {"cache": True, "fastmath": False, "error_model": "numpy", "nogil": True}

_HALF_PI = math.pi / 2.0
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)


# -- surrogate derivatives g'(u), float64, one function per surrogate -------------------


@numba.njit(inline="always", **_JIT)
def _sigmoid_slope(u, alpha):
    s = 1.0 / (1.0 + math.exp(-alpha * u))
    return alpha * s * (1.0 - s)


@numba.njit(inline="always", **_JIT)
def _atan(u, alpha, _p1):
    z = _HALF_PI * alpha * u
    return alpha / 2.0 / (1.0 + z * z)


@numba.njit(inline="always", **_JIT)
def _sigmoid(u, alpha, _p1):
    return _sigmoid_slope(u, alpha)


@numba.njit(inline="always", **_JIT)
def _piecewise_quadratic(u, alpha, _p1):
    return max(alpha - alpha * alpha * abs(u), 0.0)


@numba.njit(inline="always", **_JIT)
def _soft_sign(u, alpha, _p1):
    d = 1.0 + abs(alpha * u)
    return alpha / (2.0 * d * d)


@numba.njit(inline="always", **_JIT)
def _erf(u, alpha, _p1):
    z = alpha * u
    return alpha * _INV_SQRT_PI * math.exp(-(z * z))


@numba.njit(inline="always", **_JIT)
def _piecewise_exp(u, alpha, _p1):
    return alpha / 2.0 * math.exp(-alpha * abs(u))


@numba.njit(inline="always", **_JIT)
def _piecewise_leaky_relu(u, w, c):
    return 1.0 / (2.0 * w) if abs(u) < w else c


@numba.njit(inline="always", **_JIT)
def _rect(u, alpha, _p1):
    return alpha if abs(u) < 0.5 / alpha else 0.0


@numba.njit(inline="always", **_JIT)
def _q_pseudo_spike(u, alpha, _p1):
    return (1.0 + (2.0 / (alpha - 1.0)) * abs(u)) ** (-alpha)


@numba.njit(inline="always", **_JIT)
def _s2nn(u, alpha, beta):
    return _sigmoid_slope(u, alpha) if u < 0.0 else beta / (u + 1.0)


@numba.njit(inline="always", **_JIT)
def _log_tailed_relu(u, alpha, _p1):
    if u > 1.0:
        return 1.0 / u
    return 1.0 if u > 0.0 else alpha


@numba.njit(inline="always", **_JIT)
def _fake_numerical_gradient(u, alpha, _p1):
    return min(1.0 / abs(u), alpha)


@numba.njit(inline="always", **_JIT)
def _leaky_k_relu(u, leak, k):
    return k if u >= 0.0 else leak


@numba.njit(inline="always", **_JIT)
def _squarewave_fourier_series(u, n, period):
    omega = 2.0 * math.pi / period
    total = 0.0
    for i in range(1, int(n)):
        total += math.cos(((2.0 * i - 1.0) * omega) * u)
    return (4.0 / period) * total


@numba.njit(inline="always", **_JIT)
def _super_spike(u, alpha, _p1):
    d = 1.0 + abs(u)
    return alpha / (d * d)


@numba.njit(inline="always", **_JIT)
def _nonzero_sign_log_abs(u, alpha, _p1):
    return alpha / (1.0 + alpha * abs(u))


@numba.njit(inline="always", **_JIT)
def _straight_through(u, _p0, _p1):
    return 1.0


@numba.njit(**_JIT)
def surrogate_derivative(code, u, p0, p1):  # noqa: C901  (one branch per surrogate)
    """``g'(u)`` (float64) of the surrogate ``code`` with hyper-parameters ``p0, p1``.

    The formulas are those of ``jelly.surrogates`` (``derivative``), branch for branch:
    ATan ``α / 2 / (1 + (π/2 α u)²)``; Sigmoid ``α s (1 - s)``, ``s = sigmoid(α u)``;
    PiecewiseQuadratic ``max(0, α - α² |u|)``; SoftSign ``α / (2 (1 + |α u|)²)``;
    Erf ``α / √π exp(-(α u)²)``; PiecewiseExp ``α / 2 exp(-α |u|)``; PiecewiseLeakyReLU
    ``1 / (2w)`` for ``|u| < w`` else ``c``; Rect ``α`` for ``|u| < 1 / (2α)`` else 0;
    QPseudoSpike ``(1 + 2|u| / (α - 1))^(-α)``; S2NN sigmoid slope for ``u < 0`` else
    ``β / (u + 1)``; LogTailedReLU ``α`` (``u <= 0``), 1 (``0 < u <= 1``), ``1/u``;
    FakeNumericalGradient ``min(1/|u|, α)``; LeakyKReLU ``k`` (``u >= 0``) else ``leak``;
    SquarewaveFourierSeries ``4/T Σ_{i<n} cos((2i - 1) 2π/T u)`` (``p0 = n``, ``p1 = T``);
    SuperSpike ``α / (1 + |u|)²``; NonzeroSignLogAbs ``α / (1 + α |u|)``;
    DeterministicPass ``1``.
    """
    if code == 0:
        return _atan(u, p0, p1)
    if code == 1:
        return _sigmoid(u, p0, p1)
    if code == 2:
        return _piecewise_quadratic(u, p0, p1)
    if code == 3:
        return _soft_sign(u, p0, p1)
    if code == 4:
        return _erf(u, p0, p1)
    if code == 5:
        return _piecewise_exp(u, p0, p1)
    if code == 6:
        return _piecewise_leaky_relu(u, p0, p1)
    if code == 7:
        return _rect(u, p0, p1)
    if code == 8:
        return _q_pseudo_spike(u, p0, p1)
    if code == 9:
        return _s2nn(u, p0, p1)
    if code == 10:
        return _log_tailed_relu(u, p0, p1)
    if code == 11:
        return _fake_numerical_gradient(u, p0, p1)
    if code == 12:
        return _leaky_k_relu(u, p0, p1)
    if code == 13:
        return _squarewave_fourier_series(u, p0, p1)
    if code == 14:
        return _super_spike(u, p0, p1)
    if code == 15:
        return _nonzero_sign_log_abs(u, p0, p1)
    return _straight_through(u, p0, p1)


@numba.njit(inline="always", **_JIT)
def _slopes_of(fn, h_row, v_th, p0, p1, out):
    for i in range(out.shape[0]):
        out[i] = fn(float(h_row[i]) - v_th, p0, p1)


@numba.njit(**_JIT)
def surrogate_slopes(code, h_row, v_th, p0, p1, out):  # noqa: C901
    """``out[i] = g'(h_row[i] - v_th)`` for every ``i`` of ``out``.

    The branch on ``code`` sits outside the element loop so that each loop is a plain,
    vectorisable expression.
    """
    if code == 0:
        _slopes_of(_atan, h_row, v_th, p0, p1, out)
    elif code == 1:
        _slopes_of(_sigmoid, h_row, v_th, p0, p1, out)
    elif code == 2:
        _slopes_of(_piecewise_quadratic, h_row, v_th, p0, p1, out)
    elif code == 3:
        _slopes_of(_soft_sign, h_row, v_th, p0, p1, out)
    elif code == 4:
        _slopes_of(_erf, h_row, v_th, p0, p1, out)
    elif code == 5:
        _slopes_of(_piecewise_exp, h_row, v_th, p0, p1, out)
    elif code == 6:
        _slopes_of(_piecewise_leaky_relu, h_row, v_th, p0, p1, out)
    elif code == 7:
        _slopes_of(_rect, h_row, v_th, p0, p1, out)
    elif code == 8:
        _slopes_of(_q_pseudo_spike, h_row, v_th, p0, p1, out)
    elif code == 9:
        _slopes_of(_s2nn, h_row, v_th, p0, p1, out)
    elif code == 10:
        _slopes_of(_log_tailed_relu, h_row, v_th, p0, p1, out)
    elif code == 11:
        _slopes_of(_fake_numerical_gradient, h_row, v_th, p0, p1, out)
    elif code == 12:
        _slopes_of(_leaky_k_relu, h_row, v_th, p0, p1, out)
    elif code == 13:
        _slopes_of(_squarewave_fourier_series, h_row, v_th, p0, p1, out)
    elif code == 14:
        _slopes_of(_super_spike, h_row, v_th, p0, p1, out)
    elif code == 15:
        _slopes_of(_nonzero_sign_log_abs, h_row, v_th, p0, p1, out)
    else:
        _slopes_of(_straight_through, h_row, v_th, p0, p1, out)


# -- forward -----------------------------------------------------------------------------


@numba.njit(inline="always", **_JIT)
def _fire_and_reset(j, h, h_row, s_row, v_row, v_th, v_r, one, zero, hard):
    h_row[j] = h
    fired = h >= v_th
    s_row[j] = one if fired else zero
    after = v_r if hard else h - v_th
    v_row[j] = after if fired else h


@numba.njit(**_JIT)
def forward_row(mode, v_prev, x_row, h_row, s_row, v_row, v_th, v_r, c, one, zero, hard):
    """One time step of a row of elements: charge, fire, reset (in the dtype of the rows).

    ``v_prev``, ``x_row`` are read and ``h_row``, ``s_row``, ``v_row`` written at indices
    ``0 .. len(x_row) - 1`` (a loop from 0, which LLVM vectorises).
    """
    n = x_row.shape[0]
    if mode == 0:
        for j in range(n):
            _fire_and_reset(j, v_prev[j] + x_row[j], h_row, s_row, v_row, v_th, v_r, one, zero, hard)
    elif mode == 1:
        for j in range(n):
            v = v_prev[j]
            _fire_and_reset(j, v + (x_row[j] - (v - v_r)) / c, h_row, s_row, v_row, v_th, v_r, one, zero, hard)
    elif mode == 2:
        for j in range(n):
            v = v_prev[j]
            _fire_and_reset(j, v + (x_row[j] - (v - v_r)) * c, h_row, s_row, v_row, v_th, v_r, one, zero, hard)
    elif mode == 3:
        for j in range(n):
            v = v_prev[j]
            _fire_and_reset(j, (v - (v - v_r) / c) + x_row[j], h_row, s_row, v_row, v_th, v_r, one, zero, hard)
    else:
        for j in range(n):
            v = v_prev[j]
            _fire_and_reset(j, (v - (v - v_r) * c) + x_row[j], h_row, s_row, v_row, v_th, v_r, one, zero, hard)


@numba.njit(**_JIT)
def linear_charge_forward(x, v_init, prm, mode, hard, s_out, v_out, h_out, save_h, start, stop):
    """Run all steps of the elements ``[start, stop)``: writes spikes, membranes and ``h``.

    Args:
        x: ``[T, M]`` input.
        v_init: ``[M]`` membrane before the first step.
        prm: ``[v_th, v_r, c, 1, 0]`` in the dtype of ``x`` (``v_r = 0`` for soft reset).
        mode: charge form 0-4 (module docstring).
        hard: hard (``True``) or soft reset.
        s_out, v_out, h_out: ``[T, M]`` outputs (``h_out`` is not touched unless ``save_h``).
        start, stop: the element range of this call (the caller runs ranges in parallel).
    """
    steps = x.shape[0]
    v_th = prm[0]
    v_r = prm[1]
    c = prm[2]
    one = prm[3]
    zero = prm[4]
    scratch = np.empty(BLOCK, x.dtype)  # the h row when h is not kept
    for j0 in range(start, stop, BLOCK):
        j1 = min(j0 + BLOCK, stop)
        for t in range(steps):
            v_prev = v_init[j0:j1] if t == 0 else v_out[t - 1, j0:j1]
            h_row = h_out[t, j0:j1] if save_h else scratch
            forward_row(mode, v_prev, x[t, j0:j1], h_row[: j1 - j0], s_out[t, j0:j1], v_out[t, j0:j1], v_th, v_r,
                        c, one, zero, hard)


# -- backward ----------------------------------------------------------------------------


@numba.njit(inline="always", **_JIT)
def _bptt_row(h_row, slope, gs_row, gv_row, gx_row, carry, grad_h, keep_grad_h, v_th, v_r64, v_th64, a, b, hard,
              detach):
    """One step back for a row of elements (every index starts at 0, so the loop vectorises)."""
    for i in range(carry.shape[0]):
        h = h_row[i]
        hd = float(h)
        sg = slope[i]
        keep = 0.0 if h >= v_th else 1.0
        base = keep if hard else 1.0
        through_spike = (v_r64 - hd) if hard else -v_th64
        dvdh = base if detach else base + through_spike * sg
        gh = (carry[i] + float(gv_row[i])) * dvdh + float(gs_row[i]) * sg
        gx_row[i] = b * gh
        if keep_grad_h:
            grad_h[i] = gh
        carry[i] = a * gh


@numba.njit(**_JIT)
def backward_block(hb, off, j0, j1, v_init, gs, gv, prm, fprm, hard, detach, plif_decay, need_gk,
                   code, sp, gx, gv0):
    """BPTT of the elements ``[j0, j1)``; their charged membranes are ``hb[t, j - off]``.

    ``gs``/``gv`` are ``[T, M]`` output gradients, or a ``[1, M]`` row of zeros read at
    every step when the output had no gradient. Writes ``gx`` and ``gv0`` for these
    elements and returns their share of ``∂L/∂k`` (0 unless ``need_gk``).
    ``fprm = [v_th, v_r, a, b, k]`` in float64 (``h = a v + b x + c``).
    """
    steps = hb.shape[0]
    width = j1 - j0
    lo = j0 - off
    hi = j1 - off
    v_th = prm[0]
    v_r = prm[1]
    v_th64 = fprm[0]
    v_r64 = fprm[1]
    a = fprm[2]
    b = fprm[3]
    k = fprm[4]
    p0 = sp[0]
    p1 = sp[1]
    carry = np.zeros(width, np.float64)
    slope = np.empty(width, np.float64)
    grad_h = np.empty(width, np.float64)
    gs_rows = gs.shape[0]
    gv_rows = gv.shape[0]
    acc = 0.0
    for t in range(steps - 1, -1, -1):
        h_row = hb[t, lo:hi]
        surrogate_slopes(code, h_row, v_th64, p0, p1, slope)
        gs_row = gs[t if gs_rows > 1 else 0, j0:j1]
        gv_row = gv[t if gv_rows > 1 else 0, j0:j1]
        gx_row = gx[t, j0:j1]
        if need_gk:
            _bptt_row(h_row, slope, gs_row, gv_row, gx_row, carry, grad_h, True, v_th, v_r64, v_th64, a, b, hard,
                      detach)
            v_prev = v_init[j0:j1] if t == 0 else hb[t - 1, lo:hi]
            for i in range(width):
                vp = v_prev[i]
                if t > 0 and vp >= v_th:
                    vp = v_r if hard else vp - v_th
                dhdk = (float(h_row[i]) - float(vp)) / k if plif_decay else v_r64 - float(vp)
                acc += grad_h[i] * dhdk
        else:
            _bptt_row(h_row, slope, gs_row, gv_row, gx_row, carry, grad_h, False, v_th, v_r64, v_th64, a, b, hard,
                      detach)
    gv0[j0:j1] = carry
    return acc


@numba.njit(**_JIT)
def linear_charge_backward(src, v_init, recompute, mode, gs, gv, prm, fprm, hard, detach, plif_decay, need_gk,
                           code, sp, gx, gv0, start, stop):
    """BPTT of the elements ``[start, stop)``; returns their share of ``∂L/∂k``.

    ``src`` is the saved ``h`` (``[T, M]``), or with ``recompute`` the input ``x``, from
    which each block of :data:`BLOCK` elements first reruns its forward into a
    ``[T, BLOCK]`` buffer (``mode`` and ``prm`` as in :func:`linear_charge_forward`).
    Writes ``gx`` (``[T, M]``) and ``gv0`` (``[M]``); see :func:`backward_block` for
    ``gs``/``gv``.
    """
    steps = src.shape[0]
    v_th = prm[0]
    v_r = prm[1]
    c = prm[2]
    one = prm[3]
    zero = prm[4]
    width = min(BLOCK, stop - start) if recompute else 1
    hb = np.empty((steps, width), src.dtype)
    v_a = np.empty(width, src.dtype)
    v_b = np.empty(width, src.dtype)
    spikes = np.empty(width, src.dtype)
    acc = 0.0
    for j0 in range(start, stop, BLOCK):
        j1 = min(j0 + BLOCK, stop)
        h_src = src
        off = 0
        if recompute:
            n = j1 - j0
            v_a[:n] = v_init[j0:j1]
            for t in range(steps):
                forward_row(mode, v_a, src[t, j0:j1], hb[t, :n], spikes, v_b, v_th, v_r, c, one, zero, hard)
                v_a, v_b = v_b, v_a
            h_src = hb
            off = j0
        acc += backward_block(h_src, off, j0, j1, v_init, gs, gv, prm, fprm, hard, detach, plif_decay, need_gk,
                              code, sp, gx, gv0)
    return acc
