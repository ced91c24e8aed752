"""Shared test table: every surrogate, a few hyper-parameter settings, reference formulas.

The reference primitives ``g`` and gradients ``g'`` are written here again, independently
of the package, as scalar Python functions on floats (``math`` only), from the formulas
in SpikingJelly's documentation. A test that takes a ``case`` argument runs once per row
of :data:`CASES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from jelly import surrogates as sg

torch.set_num_threads(1)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _sign0(x: float) -> float:
    return 1.0 if x >= 0 else -1.0


# name -> (g(x, **params), g'(x, **params))
REFERENCE: dict[str, tuple[Callable[..., float], Callable[..., float]]] = {
    "Sigmoid": (
        lambda x, alpha: _sigmoid(alpha * x),
        lambda x, alpha: alpha * _sigmoid(alpha * x) * (1 - _sigmoid(alpha * x)),
    ),
    "ATan": (
        lambda x, alpha: math.atan(math.pi / 2 * alpha * x) / math.pi + 0.5,
        lambda x, alpha: alpha / (2 * (1 + (math.pi / 2 * alpha * x) ** 2)),
    ),
    "SoftSign": (
        lambda x, alpha: 0.5 * (alpha * x / (1 + abs(alpha * x)) + 1),
        lambda x, alpha: alpha / (2 * (1 + abs(alpha * x)) ** 2),
    ),
    "Erf": (
        lambda x, alpha: 0.5 * (1 + math.erf(alpha * x)),
        lambda x, alpha: alpha / math.sqrt(math.pi) * math.exp(-(alpha**2) * x**2),
    ),
    "PiecewiseExp": (
        lambda x, alpha: 0.5 * math.exp(alpha * x) if x < 0 else 1 - 0.5 * math.exp(-alpha * x),
        lambda x, alpha: alpha / 2 * math.exp(-alpha * abs(x)),
    ),
    "QPseudoSpike": (
        lambda x, alpha: 0.5 * (1 - 2 * x / (alpha - 1)) ** (1 - alpha)
        if x < 0
        else 1 - 0.5 * (1 + 2 * x / (alpha - 1)) ** (1 - alpha),
        lambda x, alpha: (1 + 2 * abs(x) / (alpha - 1)) ** (-alpha),
    ),
    "SuperSpike": (
        lambda x, alpha: 0.5 + alpha * x / (1 + abs(x)),
        lambda x, alpha: alpha / (1 + abs(x)) ** 2,
    ),
    "NonzeroSignLogAbs": (
        lambda x, alpha: _sign0(x) * math.log(1 + alpha * abs(x)),
        lambda x, alpha: 1 / (1 / alpha + abs(x)),
    ),
    "SquarewaveFourierSeries": (
        lambda x, n, T_period: 0.5
        + 2
        / math.pi
        * sum(math.sin((2 * i - 1) * 2 * math.pi / T_period * x) / (2 * i - 1) for i in range(1, n)),
        lambda x, n, T_period: 4
        / T_period
        * sum(math.cos((2 * i - 1) * 2 * math.pi / T_period * x) for i in range(1, n)),
    ),
    "PiecewiseQuadratic": (
        lambda x, alpha: 0.0
        if x < -1 / alpha
        else (1.0 if x > 1 / alpha else -0.5 * alpha**2 * abs(x) * x + alpha * x + 0.5),
        lambda x, alpha: 0.0 if abs(x) > 1 / alpha else -(alpha**2) * abs(x) + alpha,
    ),
    "PiecewiseLeakyReLU": (
        lambda x, w, c: c * x + c * w if x < -w else (c * x - c * w + 1 if x > w else x / (2 * w) + 0.5),
        lambda x, w, c: 1 / (2 * w) if abs(x) < w else c,
    ),
    "Rect": (
        lambda x, alpha: min(max(alpha * x + 0.5, 0.0), 1.0),
        lambda x, alpha: alpha if abs(x) < 0.5 / alpha else 0.0,
    ),
    "S2NN": (
        lambda x, alpha, beta: _sigmoid(alpha * x) if x < 0 else beta * math.log(x + 1) + 0.5,
        lambda x, alpha, beta: alpha * _sigmoid(alpha * x) * (1 - _sigmoid(alpha * x))
        if x < 0
        else beta / (x + 1),
    ),
    "LogTailedReLU": (
        lambda x, alpha: alpha * x if x <= 0 else (x if x <= 1 else math.log(x) + 1),
        lambda x, alpha: alpha if x <= 0 else (1.0 if x <= 1 else 1 / x),
    ),
    "FakeNumericalGradient": (
        lambda x, alpha: 0.5 + alpha * x
        if abs(x) <= 1 / alpha
        else 0.5 + _sign0(x) * (1 + math.log(alpha * abs(x))),
        lambda x, alpha: alpha if x == 0 else min(1 / abs(x), alpha),
    ),
    "LeakyKReLU": (
        lambda x, leak, k: k * x if x >= 0 else leak * x,
        lambda x, leak, k: k if x >= 0 else leak,
    ),
    "DeterministicPass": (lambda x: x, lambda x: 1.0),
    "PoissonPass": (lambda x: x, lambda x: 1.0),
}


@dataclass(frozen=True)
class Case:
    """One surrogate with one hyper-parameter setting, and what the tests need to know."""

    name: str
    kwargs: dict = field(default_factory=dict)
    domain: tuple[float, float] = (-3.0, 3.0)
    heaviside_forward: bool = True

    @property
    def cls(self) -> type:
        return getattr(sg, self.name)

    def make(self, spiking: bool = True) -> sg.SurrogateFunction:
        return self.cls(**self.kwargs, spiking=spiking)

    @property
    def params(self) -> dict:
        return self.make().hyperparameters

    def kinks(self) -> list[float]:
        """Points where ``g'`` jumps (``g`` not differentiable)."""
        p = self.params
        if self.name == "PiecewiseLeakyReLU":
            return [-p["w"], p["w"]]
        if self.name == "Rect":
            return [-0.5 / p["alpha"], 0.5 / p["alpha"]]
        if self.name == "S2NN":
            return [0.0]
        if self.name == "LogTailedReLU":
            return [] if p["alpha"] == 1 else [0.0]
        if self.name == "LeakyKReLU":
            return [] if p["leak"] == p["k"] else [0.0]
        return []

    def ref_g(self, x: np.ndarray) -> np.ndarray:
        g = REFERENCE[self.name][0]
        return np.array([g(float(v), **self.params) for v in np.ravel(x)]).reshape(np.shape(x))

    def ref_dg(self, x: np.ndarray) -> np.ndarray:
        dg = REFERENCE[self.name][1]
        return np.array([dg(float(v), **self.params) for v in np.ravel(x)]).reshape(np.shape(x))

    def points(self, n: int = 64, seed: int = 0, margin: float = 1e-3) -> torch.Tensor:
        """Float64 points over the domain (0 and a grid included), ``margin`` away from kinks."""
        lo, hi = self.domain
        rng = np.random.default_rng(seed)
        x = np.concatenate([np.linspace(lo, hi, n // 2 + 1), rng.uniform(lo, hi, n // 2), [0.0, 0.5 * lo]])
        for k in self.kinks():
            x = x[np.abs(x - k) > margin]
        return torch.tensor(x, dtype=torch.float64)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.name}({args})"


CASES: list[Case] = [
    Case("Sigmoid"),
    Case("Sigmoid", {"alpha": 1.0}),
    Case("Sigmoid", {"alpha": 10.0}),
    Case("ATan"),
    Case("ATan", {"alpha": 0.5}),
    Case("ATan", {"alpha": 5.0}),
    Case("SoftSign"),
    Case("SoftSign", {"alpha": 0.7}),
    Case("SoftSign", {"alpha": 6.0}),
    Case("Erf"),
    Case("Erf", {"alpha": 0.5}),
    Case("Erf", {"alpha": 4.0}),
    Case("PiecewiseExp"),
    Case("PiecewiseExp", {"alpha": 0.3}),
    Case("PiecewiseExp", {"alpha": 3.0}),
    Case("QPseudoSpike"),
    Case("QPseudoSpike", {"alpha": 1.5}),
    Case("QPseudoSpike", {"alpha": 4.0}),
    Case("SuperSpike"),
    Case("SuperSpike", {"alpha": 0.5}),
    Case("SuperSpike", {"alpha": 3.0}),
    Case("NonzeroSignLogAbs"),
    Case("NonzeroSignLogAbs", {"alpha": 0.5}),
    Case("NonzeroSignLogAbs", {"alpha": 4.0}),
    Case("SquarewaveFourierSeries", domain=(-4.0, 4.0)),
    Case("SquarewaveFourierSeries", {"n": 4, "T_period": 8.0}, domain=(-4.0, 4.0)),
    Case("SquarewaveFourierSeries", {"n": 8, "T_period": 3.0}, domain=(-1.5, 1.5)),
    Case("PiecewiseQuadratic"),
    Case("PiecewiseQuadratic", {"alpha": 0.5}),
    Case("PiecewiseQuadratic", {"alpha": 4.0}),
    Case("PiecewiseLeakyReLU"),
    Case("PiecewiseLeakyReLU", {"w": 0.5, "c": 0.1}),
    Case("PiecewiseLeakyReLU", {"w": 2.0, "c": 0.0}),
    Case("Rect"),
    Case("Rect", {"alpha": 0.4}),
    Case("Rect", {"alpha": 3.0}),
    Case("S2NN"),
    Case("S2NN", {"alpha": 1.0, "beta": 0.5}),
    Case("S2NN", {"alpha": 8.0, "beta": 2.0}),
    Case("LogTailedReLU", domain=(-3.0, 5.0)),
    Case("LogTailedReLU", {"alpha": 0.1}, domain=(-3.0, 5.0)),
    Case("LogTailedReLU", {"alpha": 1.0}, domain=(-3.0, 5.0)),
    Case("FakeNumericalGradient", domain=(-8.0, 8.0)),
    Case("FakeNumericalGradient", {"alpha": 1.0}),
    Case("FakeNumericalGradient", {"alpha": 5.0}),
    Case("LeakyKReLU"),
    Case("LeakyKReLU", {"leak": 0.1, "k": 0.5}),
    Case("LeakyKReLU", {"leak": 0.3, "k": 0.3}),
    Case("DeterministicPass"),
    Case("PoissonPass", domain=(0.0, 1.0), heaviside_forward=False),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[str(c) for c in CASES])
    if "kinked_case" in metafunc.fixturenames:
        cases = [c for c in CASES if c.kinks()]
        metafunc.parametrize("kinked_case", cases, ids=[str(c) for c in cases])
    if "heaviside_case" in metafunc.fixturenames:
        cases = [c for c in CASES if c.heaviside_forward]
        metafunc.parametrize("heaviside_case", cases, ids=[str(c) for c in cases])


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
