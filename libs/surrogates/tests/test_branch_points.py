"""Values of ``derivative`` exactly at branch points, as SpikingJelly's backward chooses them."""

from __future__ import annotations

import pytest
import torch

import jelly.surrogates as sg


def _d(module: sg.SurrogateFunction, *values: float) -> list[float]:
    return module.derivative(torch.tensor(values, dtype=torch.float64)).tolist()


def test_piecewise_leaky_relu_outer_value_at_window_edge() -> None:
    assert _d(sg.PiecewiseLeakyReLU(w=1.0, c=0.1), -1.0, 1.0, 0.999, 0.0) == [0.1, 0.1, 0.5, 0.5]


def test_rect_window_is_open() -> None:
    assert _d(sg.Rect(alpha=1.0), -0.5, 0.5, 0.49, -0.49, 0.0) == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert _d(sg.Rect(alpha=2.0), 0.25, 0.2) == [0.0, 2.0]


def test_s2nn_right_branch_at_zero() -> None:
    assert _d(sg.S2NN(alpha=4.0, beta=0.7), 0.0, -0.0) == [0.7, 0.7]
    assert _d(sg.S2NN(alpha=4.0, beta=0.7), -1e-300) == pytest.approx([1.0])


def test_leaky_k_relu_k_at_zero() -> None:
    assert _d(sg.LeakyKReLU(leak=0.1, k=0.5), 0.0, -1e-9, 3.0) == [0.5, 0.1, 0.5]


def test_log_tailed_relu_branches() -> None:
    assert _d(sg.LogTailedReLU(alpha=0.1), 0.0, 1e-9, 1.0, 2.0, -5.0) == [0.1, 1.0, 1.0, 0.5, 0.1]


def test_piecewise_quadratic_window() -> None:
    assert _d(sg.PiecewiseQuadratic(alpha=2.0), -0.5, 0.5, 0.0, 0.25, 0.75) == [0.0, 0.0, 2.0, 1.0, 0.0]


def test_fake_numerical_gradient_clip() -> None:
    assert _d(sg.FakeNumericalGradient(alpha=0.5), 0.0, -0.0, 1.0, 2.0, -4.0) == [0.5, 0.5, 0.5, 0.5, 0.25]


def test_peak_values() -> None:
    zero = torch.zeros((), dtype=torch.float64)
    assert sg.ATan(alpha=3.0).derivative(zero).item() == 1.5
    assert sg.Sigmoid(alpha=4.0).derivative(zero).item() == 1.0
    assert sg.SoftSign(alpha=3.0).derivative(zero).item() == 1.5
    assert sg.QPseudoSpike(alpha=3.0).derivative(zero).item() == 1.0
    assert sg.PiecewiseExp(alpha=3.0).derivative(zero).item() == 1.5
    assert sg.SquarewaveFourierSeries(n=3, T_period=8.0).derivative(zero).item() == 1.0


@pytest.mark.parametrize(
    "module",
    [sg.Sigmoid(), sg.ATan(), sg.SoftSign(), sg.Erf(), sg.PiecewiseExp(), sg.PiecewiseQuadratic(), sg.Rect()],
    ids=repr,
)
def test_bounded_primitives_integrate_to_one(module: sg.SurrogateFunction) -> None:
    # these g' are densities: the primitive runs from 0 to 1
    far = torch.tensor([-1e4, 1e4], dtype=torch.float64)
    assert module.primitive(far).tolist() == pytest.approx([0.0, 1.0], abs=1e-4)
    x = torch.linspace(-60, 60, 600_001, dtype=torch.float64)
    area = torch.trapezoid(module.derivative(x), x).item()
    assert area == pytest.approx(1.0, abs=2e-2)
