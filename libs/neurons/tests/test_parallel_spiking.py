"""Parallel spiking neurons (PSN, MaskedPSN, SlidingPSN) against independent computations."""

from __future__ import annotations

import pytest
import torch

from jelly import neurons
from jelly.core import functional
from jelly.core.base import StepModeError
from jelly.neurons.functional.parallel_spiking import masked_psn_mask, psn_membrane, sliding_psn_weight
from jelly.surrogates import ATan, Sigmoid

torch.set_num_threads(1)


def _membrane_loop(x_seq: torch.Tensor, weight: torch.Tensor, bias) -> torch.Tensor:
    """``h[t] = sum_s W[t, s] x[s] + b[t]`` written as plain loops (independent of addmm)."""
    T = x_seq.shape[0]
    bias = torch.as_tensor(bias, dtype=x_seq.dtype).reshape(-1)
    h = []
    for t in range(T):
        acc = torch.zeros_like(x_seq[0])
        for s in range(T):
            acc = acc + weight[t, s] * x_seq[s]
        h.append(acc + (bias[t] if bias.numel() > 1 else bias[0]))
    return torch.stack(h)


def _heaviside(h: torch.Tensor) -> torch.Tensor:
    return (h >= 0).to(h.dtype)


SHAPES = [(6, 3), (5, 2, 4), (4, 2, 3, 2, 2)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("surrogate", [ATan, Sigmoid])
def test_psn_equals_documented_equations(shape, surrogate):
    torch.manual_seed(0)
    T = shape[0]
    psn = neurons.PSN(T, surrogate_function=surrogate()).double()
    with torch.no_grad():
        psn.bias.uniform_(-0.5, 0.5)
    x = torch.randn(shape, dtype=torch.float64)
    spikes = psn(x)
    h = _membrane_loop(x, psn.weight.detach(), psn.bias.detach())
    assert spikes.shape == x.shape and spikes.dtype == x.dtype
    torch.testing.assert_close(psn_membrane(x, psn.weight, psn.bias), h)
    assert torch.equal(spikes, _heaviside(h))
    assert 0 < spikes.sum() < spikes.numel()  # the check is not vacuous


def test_psn_defaults_follow_spikingjelly():
    psn = neurons.PSN(5)
    assert isinstance(psn.surrogate_function, ATan)
    assert psn.weight.shape == (5, 5) and psn.bias.shape == (5, 1)
    assert torch.all(psn.bias == -1.0)
    bound = 1.0 / 5**0.5  # kaiming_uniform(a=sqrt(5)) on fan_in=T, as nn.Linear
    assert psn.weight.abs().max() <= bound
    assert psn.supported_step_mode() == ("m",) and psn.step_mode == "m"
    # a zero input gives h = bias = -1 < 0: no spike
    assert psn(torch.zeros(5, 2)).sum() == 0


def test_psn_spiking_gradient_equals_surrogate_chain_rule():
    torch.manual_seed(1)
    T, N, C = 5, 3, 4
    sg = ATan(alpha=3.0)
    psn = neurons.PSN(T, surrogate_function=sg).double()
    x = torch.randn(T, N, C, dtype=torch.float64, requires_grad=True)
    grad_out = torch.randn(T, N, C, dtype=torch.float64)
    psn(x).backward(grad_out)
    with torch.no_grad():
        X = x.reshape(T, -1)
        h = psn.weight @ X + psn.bias
        g = grad_out.reshape(T, -1) * sg.derivative(h)
        torch.testing.assert_close(x.grad.reshape(T, -1), psn.weight.T @ g)
        torch.testing.assert_close(psn.weight.grad, g @ X.T)
        torch.testing.assert_close(psn.bias.grad, g.sum(1, keepdim=True))


@pytest.mark.parametrize(
    "make",
    [
        lambda sg: neurons.PSN(4, surrogate_function=sg),
        lambda sg: neurons.MaskedPSN(2, 4, lambda_init=0.4, surrogate_function=sg),
        lambda sg: neurons.MaskedPSN(2, 4, lambda_init=1.0, surrogate_function=sg),
        lambda sg: neurons.SlidingPSN(3, exp_init=False, surrogate_function=sg),
    ],
    ids=["PSN", "MaskedPSN-0.4", "MaskedPSN-1", "SlidingPSN"],
)
def test_gradcheck_smooth_path(make):
    """With ``spiking=False`` the surrogate is the smooth primitive: gradcheck W, b and x."""
    torch.manual_seed(2)
    module = make(Sigmoid(alpha=2.0, spiking=False)).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)

    def run(x_, w_, b_):
        return torch.func.functional_call(module, {"weight": w_, "bias": b_}, (x_,))

    w0 = module.weight.detach().clone().requires_grad_(True)
    b0 = module.bias.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(run, (x, w0, b0))
    # and the module's own parameters receive gradients
    module(x).sum().backward()
    assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0
    assert module.bias.grad is not None and module.bias.grad.abs().sum() > 0


# -- MaskedPSN ----------------------------------------------------------------------------------


def test_masked_psn_mask_is_banded_causal():
    m = masked_psn_mask(5, 2)
    expected = torch.tensor(
        [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 1]],
        dtype=torch.float32,
    )
    assert torch.equal(m, expected)
    assert torch.equal(masked_psn_mask(4, 4), torch.tril(torch.ones(4, 4)))
    assert torch.equal(masked_psn_mask(4, 1), torch.eye(4))


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.75, 1.0])
def test_masked_psn_equals_equations_for_lambda(lam):
    torch.manual_seed(3)
    T, k = 6, 3
    mpsn = neurons.MaskedPSN(k, T, lambda_init=lam).double()
    x = torch.randn(T, 4, 2, dtype=torch.float64)
    mask = torch.zeros(T, T, dtype=torch.float64)
    for i in range(T):
        for j in range(T):
            if j <= i <= j + k - 1:
                mask[i, j] = 1.0
    effective = mpsn.weight.detach() * (lam * mask + (1 - lam) * torch.ones(T, T, dtype=torch.float64))
    h = _membrane_loop(x, effective, mpsn.bias.detach())
    assert torch.equal(mpsn(x), _heaviside(h))
    torch.testing.assert_close(mpsn.masked_weight(), effective)


def test_masked_psn_lambda_schedule():
    """Out-of-band influence shrinks as (1 - λ) and vanishes at λ = 1; λ = 0 is the plain PSN."""
    torch.manual_seed(4)
    T, k = 6, 2
    mpsn = neurons.MaskedPSN(k, T).double()
    psn = neurons.PSN(T).double()
    psn.load_state_dict({"weight": mpsn.weight.detach(), "bias": mpsn.bias.detach()})
    x = torch.randn(T, 3, dtype=torch.float64)
    assert torch.equal(mpsn(x), psn(x))  # λ = 0: no masking at all

    pulse = torch.zeros(T, 1, dtype=torch.float64)
    pulse[0] = 1.0  # an input at step 0 only; steps t >= k are outside its band
    w = mpsn.weight.detach()
    for lam in (0.0, 0.25, 0.5, 0.9, 1.0):
        mpsn.lambda_ = lam
        h = psn_membrane(pulse, mpsn.masked_weight(), mpsn.bias).detach()[:, 0] + 1.0  # minus the bias
        torch.testing.assert_close(h[:k], w[:k, 0])  # inside the band: untouched
        torch.testing.assert_close(h[k:], (1 - lam) * w[k:, 0])
    assert mpsn.lambda_.item() == 1.0

    # at λ = 1, inputs more than k - 1 steps back cannot change the output or get a gradient
    x = torch.randn(T, 5, dtype=torch.float64, requires_grad=True)
    mpsn(x)[T - 1].sum().backward()
    assert torch.all(x.grad[: T - k] == 0) and x.grad[T - k :].abs().sum() > 0
    assert torch.all(mpsn.weight.grad[mpsn.mask0 == 0] == 0)


def test_masked_psn_state_dict_and_lambda_checks():
    a = neurons.MaskedPSN(2, 4, lambda_init=0.2)
    assert {"weight", "bias", "_lambda_", "mask0", "mask1"} <= set(a.state_dict())
    a.lambda_ = 0.7
    b = neurons.MaskedPSN(2, 4)
    b.load_state_dict(a.state_dict())
    assert b.lambda_.item() == pytest.approx(0.7)
    assert "lambda_=0.7" in repr(b).replace("0.699999988079071", "0.7")
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="lambda_"):
            a.lambda_ = bad
    with pytest.raises(ValueError, match="lambda_"):
        neurons.MaskedPSN(2, 4, lambda_init=2.0)
    with pytest.raises(ValueError, match="k"):
        neurons.MaskedPSN(5, 4)
    with pytest.raises(ValueError, match="k"):
        neurons.MaskedPSN(0, 4)
    double = neurons.MaskedPSN(2, 4).double()
    assert double.mask0.dtype == torch.float64


# -- SlidingPSN ---------------------------------------------------------------------------------


@pytest.mark.parametrize("T,k", [(7, 3), (4, 4), (2, 5), (6, 1)])
def test_sliding_psn_equals_banded_psn_and_sliding_sum(T, k):
    torch.manual_seed(5)
    spsn = neurons.SlidingPSN(k, exp_init=False).double()
    with torch.no_grad():
        spsn.bias.fill_(-0.2)
    x = torch.randn(T, 3, 2, dtype=torch.float64)
    w = spsn.weight.detach()

    # the documented sliding sum, inputs before step 0 are zero
    h = torch.stack([
        sum((w[i] * x[t - k + 1 + i] for i in range(k) if t - k + 1 + i >= 0), torch.zeros_like(x[0])) - 0.2
        for t in range(T)
    ])
    assert torch.equal(spsn(x), _heaviside(h))

    # the general PSN with the banded Toeplitz weight gives the same spikes and membrane
    banded = torch.zeros(T, T, dtype=torch.float64)
    for i in range(T):
        for j in range(T):
            if 0 <= i - j < k:
                banded[i, j] = w[k - 1 - (i - j)]
    torch.testing.assert_close(spsn.gen_gemm_weight(T), banded, rtol=0, atol=0)
    psn = neurons.PSN(T).double()
    psn.load_state_dict({"weight": banded, "bias": torch.full((T, 1), -0.2, dtype=torch.float64)})
    assert torch.equal(spsn(x), psn(x))

    # gradient of the k shared weights = sum of the PSN weight gradient along each band diagonal
    xg = x.clone().requires_grad_(True)
    grad_out = torch.randn_like(x)
    spsn(xg).backward(grad_out)
    psn(x).backward(grad_out)
    expected = torch.stack([
        sum((psn.weight.grad[t, t - (k - 1 - i)] for t in range(T) if t - (k - 1 - i) >= 0),
            torch.zeros((), dtype=torch.float64))
        for i in range(k)
    ])
    torch.testing.assert_close(spsn.weight.grad, expected)
    torch.testing.assert_close(spsn.bias.grad, psn.bias.grad.sum())


def test_sliding_psn_exponential_coefficients():
    k = 4
    spsn = neurons.SlidingPSN(k)  # exp_init=True (default)
    torch.testing.assert_close(spsn.weight.detach(), torch.tensor([0.125, 0.25, 0.5, 1.0]))
    assert spsn.bias.shape == () and spsn.bias.item() == -1.0
    # a single input pulse of 1.5 at step 0: h[t] = 1.5 * 2^-t - 1 while t < k, then -1
    x = torch.zeros(6, 1)
    x[0] = 1.5
    spikes = spsn(x)[:, 0]
    assert spikes.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    x[0] = 8.0  # 8 * 2^-t >= 1 for t <= 3 (= k - 1), outside the window nothing is left
    assert spsn(x)[:, 0].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    # the same k weights serve every sequence length
    assert spsn(torch.zeros(2, 3)).shape == (2, 3) and spsn(torch.zeros(20, 3)).shape == (20, 3)
    assert torch.equal(sliding_psn_weight(spsn.weight, 2), torch.tensor([[1.0, 0.0], [0.5, 1.0]]))


# -- bad input, step modes, containers ----------------------------------------------------------


def test_errors_and_step_mode():
    psn = neurons.PSN(4)
    with pytest.raises(StepModeError, match="T=4"):
        psn(torch.zeros(5, 2))
    with pytest.raises(StepModeError, match=r"\[T, N, \*\]"):
        psn(torch.zeros(4))
    with pytest.raises(TypeError, match="floating-point"):
        psn(torch.zeros(4, 2, dtype=torch.int64))
    with pytest.raises(StepModeError, match="T=4"):
        neurons.MaskedPSN(2, 4)(torch.zeros(3, 2))
    for make in (lambda: neurons.PSN(4, step_mode="s"), lambda: neurons.SlidingPSN(2, step_mode="s"),
                 lambda: neurons.MaskedPSN(2, 4, step_mode="s")):
        with pytest.raises(ValueError, match="multi-step mode only"):
            make()
    with pytest.raises(ValueError):
        psn.step_mode = "s"
    with pytest.raises((TypeError, ValueError)):
        neurons.PSN(0)
    with pytest.raises(TypeError):
        neurons.SlidingPSN(2.5)


def test_in_a_network_with_reset_and_set_step_mode():
    torch.manual_seed(6)
    T = 4
    net = torch.nn.Sequential(torch.nn.Flatten(2), neurons.SlidingPSN(2), neurons.MaskedPSN(2, T))
    x = torch.rand(T, 2, 3, 3)
    y1 = net(x)
    functional.reset_net(net)  # stateless: reset is a no-op, outputs do not change
    functional.set_step_mode(net, "m")
    assert torch.equal(net(x), y1) and y1.shape == (T, 2, 9)
    with pytest.raises(ValueError):
        functional.set_step_mode(net, "s")
