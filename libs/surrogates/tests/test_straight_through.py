"""Straight-through surrogates, and what is deterministic about the stochastic PoissonPass."""

from __future__ import annotations

import pytest
import torch

from jelly.surrogates import DeterministicPass, PoissonPass

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def test_deterministic_pass_backward_is_identity() -> None:
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(4, 5, dtype=torch.float64)
    y = DeterministicPass()(x)
    assert torch.equal(y, (x.detach() >= 0).double())
    (grad,) = torch.autograd.grad(y, x, upstream)
    assert torch.equal(grad, upstream)


def test_deterministic_pass_primitive_is_input_itself() -> None:
    x = torch.randn(3)
    assert DeterministicPass(spiking=False)(x) is x
    assert torch.equal(DeterministicPass().derivative(x), torch.ones(3))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_poisson_certain_probabilities_are_deterministic(dtype: torch.dtype) -> None:
    x = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]], dtype=dtype)
    for seed in range(5):
        torch.manual_seed(seed)
        y = PoissonPass()(x)
        assert y.dtype == dtype
        assert torch.equal(y, x)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_poisson_output_is_binary_in_input_dtype(dtype: torch.dtype) -> None:
    x = torch.rand(1000).to(dtype)
    y = PoissonPass()(x)
    assert y.dtype == dtype and y.shape == x.shape
    assert bool(((y == 0) | (y == 1)).all())


def test_poisson_is_reproducible_under_a_seed() -> None:
    x = torch.full((500,), 0.5)
    torch.manual_seed(123)
    a = PoissonPass()(x)
    torch.manual_seed(123)
    b = PoissonPass()(x)
    torch.manual_seed(124)
    c = PoissonPass()(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_poisson_mean_firing_rate_is_the_probability() -> None:
    torch.manual_seed(7)
    for p in (0.1, 0.3, 0.8):
        rate = PoissonPass()(torch.full((40_000,), p, dtype=torch.float64)).mean().item()
        assert abs(rate - p) < 0.01, (p, rate)


def test_poisson_backward_is_identity() -> None:
    x = torch.rand(6, 7, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(6, 7, dtype=torch.float64)
    (grad,) = torch.autograd.grad(PoissonPass()(x), x, upstream)
    assert torch.equal(grad, upstream)
    assert torch.equal(PoissonPass().derivative(x.detach()), torch.ones_like(x))


def test_poisson_primitive_is_the_expectation() -> None:
    x = torch.rand(10)
    assert PoissonPass(spiking=False)(x) is x
    assert PoissonPass().primitive(x) is x


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf")])
def test_poisson_rejects_values_outside_unit_interval(bad: float) -> None:
    x = torch.tensor([0.2, bad, 0.4])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        PoissonPass()(x)


def test_poisson_primitive_accepts_any_values() -> None:
    x = torch.tensor([-2.0, 3.0])
    assert torch.equal(PoissonPass(spiking=False)(x), x)


def test_poisson_empty_input() -> None:
    y = PoissonPass()(torch.empty(0, 3))
    assert y.shape == (0, 3)
