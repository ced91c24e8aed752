"""Forward pass: exact Heaviside spikes, the primitive, dtypes and shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jelly.surrogates import heaviside

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
SHAPES = [(), (7,), (0,), (2, 3, 4, 5)]


def _special_values(dtype: torch.dtype) -> torch.Tensor:
    info = torch.finfo(dtype)
    values = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-3, -1e-3, info.tiny, -info.tiny, info.max, -info.max]
    values += [float("inf"), float("-inf"), float("nan")]
    return torch.tensor(values, dtype=dtype)


def _expected_step(x: torch.Tensor) -> torch.Tensor:
    # independent of the package: per element, on Python floats (NaN >= 0 is False)
    return torch.tensor([1.0 if v >= 0 else 0.0 for v in x.double().tolist()], dtype=x.dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_heaviside_helper(dtype: torch.dtype) -> None:
    x = _special_values(dtype)
    y = heaviside(x)
    assert y.dtype == dtype
    assert torch.equal(y, _expected_step(x))
    assert y[1] == 1  # -0.0 >= 0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_spike_forward_is_exact_heaviside(heaviside_case, dtype: torch.dtype) -> None:
    module = heaviside_case.make()
    x = torch.cat([_special_values(dtype), torch.randn(200, dtype=torch.float64).to(dtype)])
    x = torch.cat([x, torch.tensor(heaviside_case.kinks(), dtype=dtype)])
    y = module(x)
    assert y.dtype == dtype
    assert torch.equal(y, _expected_step(x))
    assert torch.equal(module.spike(x), y)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_spike_forward_with_grad_keeps_values(heaviside_case, dtype: torch.dtype) -> None:
    x = torch.randn(50, dtype=torch.float64).to(dtype).requires_grad_()
    y = heaviside_case.make()(x)
    assert y.requires_grad
    assert torch.equal(y.detach(), _expected_step(x.detach()))


def test_primitive_matches_reference(case) -> None:
    x = case.points(n=200)
    module = case.make(spiking=False)
    y = module(x)
    assert y.dtype == torch.float64
    np.testing.assert_allclose(y.numpy(), case.ref_g(x.numpy()), rtol=1e-12, atol=1e-12)
    assert torch.equal(case.make().primitive(x), y)


def test_primitive_at_kinks_matches_reference(kinked_case) -> None:
    x = torch.tensor(kinked_case.kinks(), dtype=torch.float64)
    got = kinked_case.make().primitive(x).numpy()
    np.testing.assert_allclose(got, kinked_case.ref_g(x.numpy()), atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_dtype_preserved(case, dtype: torch.dtype) -> None:
    lo, hi = case.domain
    x = torch.linspace(lo, hi, 33, dtype=dtype)
    module = case.make()
    assert module(x).dtype == dtype
    assert module.primitive(x).dtype == dtype
    assert case.make(spiking=False)(x).dtype == dtype
    assert module.derivative(x).dtype == dtype


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_shapes_preserved(case, shape: tuple[int, ...]) -> None:
    lo, hi = case.domain
    x = lo + (hi - lo) * torch.rand(shape, dtype=torch.float32)
    module = case.make()
    for out in (module(x), module.primitive(x), module.derivative(x), case.make(spiking=False)(x)):
        assert out.shape == x.shape


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_backward_shape_preserved(case, shape: tuple[int, ...]) -> None:
    lo, hi = case.domain
    x = (lo + (hi - lo) * torch.rand(shape, dtype=torch.float64)).requires_grad_()
    case.make()(x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_primitive_in_low_precision_close_to_float64(case) -> None:
    for dtype, tol in ((torch.float16, 4e-3), (torch.bfloat16, 3e-2)):
        x = case.points(n=100).to(dtype)
        # reference on the rounded inputs, away from kinks so a rounded threshold cannot flip a branch
        keep = torch.ones_like(x, dtype=torch.bool)
        for k in case.kinks():
            keep &= (x.double() - k).abs() > 2e-2
        x = x[keep]
        got = case.make().primitive(x).double().numpy()
        ref = case.ref_g(x.double().numpy())
        scale = max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * scale, err_msg=str(dtype))


def test_integer_input_rejected(case) -> None:
    with pytest.raises(TypeError, match="floating-point"):
        case.make()(torch.arange(3))
    with pytest.raises(TypeError, match="floating-point"):
        case.make(spiking=False)(torch.arange(3))
