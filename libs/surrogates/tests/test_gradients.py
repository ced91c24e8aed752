"""Backward pass: the spike's gradient is ``derivative``, which is ``g'`` in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

LOW_PRECISION = [(torch.float16, 1e-2), (torch.bfloat16, 5e-2)]


def _input_for(case, base: torch.Tensor) -> torch.Tensor:
    """Map unconstrained ``base`` into the case's domain (PoissonPass needs [0, 1])."""
    if case.name == "PoissonPass":
        return torch.sigmoid(base)
    return 0.3 * base + 0.05  # mostly inside the narrowest gradient windows of the table


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_spike_gradient_is_derivative_exactly(case, dtype: torch.dtype) -> None:
    x = case.points(n=200).to(dtype)
    x = torch.cat([x, torch.tensor(case.kinks(), dtype=dtype)]).requires_grad_()
    module = case.make()
    (grad,) = torch.autograd.grad(module(x).sum(), x)
    assert grad.dtype == dtype
    assert torch.equal(grad, module.derivative(x.detach()))


def test_spike_gradient_scales_grad_output(case) -> None:
    x = case.points(n=100).requires_grad_()
    upstream = torch.randn_like(x)
    module = case.make()
    (grad,) = torch.autograd.grad(module(x), x, upstream)
    assert torch.equal(grad, upstream * module.derivative(x.detach()))


def test_derivative_matches_reference_formula(case) -> None:
    x = case.points(n=200)
    x = torch.cat([x, torch.tensor(case.kinks(), dtype=torch.float64)])
    got = case.make().derivative(x).numpy()
    np.testing.assert_allclose(got, case.ref_dg(x.numpy()), rtol=1e-12, atol=1e-12)


def test_derivative_matches_autograd_of_primitive(case) -> None:
    x = case.points(n=200).requires_grad_()
    module = case.make()
    (auto,) = torch.autograd.grad(module.primitive(x).sum(), x)
    torch.testing.assert_close(module.derivative(x.detach()), auto, rtol=1e-12, atol=1e-12)


def test_derivative_matches_finite_differences(case) -> None:
    x = case.points(n=200)
    h = 1e-6
    module = case.make()
    central = (module.primitive(x + h) - module.primitive(x - h)) / (2 * h)
    # O(h^2) where g is smooth; O(h * |g''|) at corners of g' (e.g. x = 0 for |x| formulas)
    torch.testing.assert_close(module.derivative(x), central, rtol=1e-5, atol=1e-5)


def test_primitive_gradcheck(case) -> None:
    x = case.points(n=24, seed=1, margin=1e-2).requires_grad_()
    assert torch.autograd.gradcheck(case.make().primitive, (x,), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_spiking_false_backward_is_autograd_of_primitive(case) -> None:
    x = case.points(n=50).requires_grad_()
    (grad,) = torch.autograd.grad(case.make(spiking=False)(x).sum(), x)
    (auto,) = torch.autograd.grad(case.make().primitive(x).sum(), x)
    assert torch.equal(grad, auto)


@pytest.mark.parametrize("spiking", [True, False])
def test_gradient_flows_upstream(case, spiking: bool) -> None:
    base = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 5, dtype=torch.float64)
    module = case.make(spiking=spiking)
    x = _input_for(case, base)
    (grad,) = torch.autograd.grad((module(x) * weight).sum(), base)
    factor = module.derivative(x.detach()) * weight
    (expected,) = torch.autograd.grad(_input_for(case, base), base, factor)
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-12)
    assert bool(grad.ne(0).any())


def test_gradient_flows_through_parameters(case) -> None:
    torch.manual_seed(3)
    layer = torch.nn.Linear(4, 6).double()
    x = torch.randn(8, 4, dtype=torch.float64)
    module = case.make()
    pre = layer(x)
    if case.name == "PoissonPass":
        pre = torch.sigmoid(pre)
    module(pre).sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None
    assert torch.isfinite(layer.weight.grad).all()


def test_derivative_needs_no_autograd(case) -> None:
    x = case.points(n=20)
    module = case.make()
    with torch.no_grad():
        d = module.derivative(x)
    assert not d.requires_grad
    assert torch.equal(d, module.derivative(x))


def test_derivative_is_finite_far_out(case) -> None:
    lo, hi = case.domain
    if case.name == "PoissonPass":
        x = torch.tensor([0.0, 1.0], dtype=torch.float64)
    else:
        x = torch.tensor([-1e30, -1e6, -50.0, 50.0, 1e6, 1e30, lo, hi], dtype=torch.float64)
    for dtype in (torch.float64, torch.float32, torch.float16):
        xd = x.to(dtype)  # +-1e30 and +-1e6 overflow to +-inf in float16
        if case.name == "SquarewaveFourierSeries":
            xd = xd[torch.isfinite(xd)]  # periodic: g' has no limit at +-inf (cos(inf) is NaN)
        d = case.make().derivative(xd)
        assert torch.isfinite(d).all(), (dtype, d)
        if case.name != "SquarewaveFourierSeries":
            assert (d >= 0).all()


@pytest.mark.parametrize("dtype,tol", LOW_PRECISION, ids=["float16", "bfloat16"])
def test_derivative_low_precision_close_to_float64(case, dtype: torch.dtype, tol: float) -> None:
    x = case.points(n=100).to(dtype)
    keep = torch.ones_like(x, dtype=torch.bool)
    for k in case.kinks():
        keep &= (x.double() - k).abs() > 2e-2
    x = x[keep]
    got = case.make().derivative(x).double().numpy()
    ref = case.ref_dg(x.double().numpy())
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * scale)


def test_double_backward_through_derivative_is_possible(case) -> None:
    # create_graph=True must not fail (the backward is made of differentiable torch ops)
    x = case.points(n=20).requires_grad_()
    (grad,) = torch.autograd.grad(case.make()(x).sum(), x, create_graph=True)
    assert grad.shape == x.shape
