"""The Triton forms of the surrogate gradients against ``derivative``, in Triton's CPU interpreter.

Triton decides between compiling and interpreting when a ``@triton.jit`` function is
created, so this module imports Triton, the derivatives and its probe kernel with
``TRITON_INTERPRET=1`` at collection time and restores the variable right after; an autouse
fixture sets it again while these tests run (Triton reads it at launch time too), so other
modules of the same process keep their setting. Skipped without Triton, with a GPU (the
compiled forms are checked on the GPU), or when Triton was already imported compiled.
"""

import importlib.util
import math
import os

import pytest
import torch

from jelly import surrogates as sg

torch.set_num_threads(1)


def _load_interpreted():
    """``(probe kernel, None)`` or ``(None, why the interpreter cannot be used)``."""
    if importlib.util.find_spec("triton") is None:
        return None, "triton is not installed"
    if torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        return None, "a GPU is present: the compiled Triton forms are checked by bench/gpu_check.py"
    previous = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        import triton
        import triton.language as tl

        import jelly.surrogates.triton_derivatives  # noqa: F401

        @triton.jit
        def probe(x_ptr, out_ptr, numel, p0, p1, p2, FN: tl.constexpr, ORDER: tl.constexpr, BLOCK: tl.constexpr):
            offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            mask = offs < numel
            x = tl.load(x_ptr + offs, mask=mask, other=0.0)
            tl.store(out_ptr + offs, FN(x, p0, p1, p2, ORDER), mask=mask)

    finally:
        if previous is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = previous
    if type(tl.standard.zeros).__name__ != "InterpretedFunction":
        return None, "Triton was imported in compiled mode before this module (TRITON_INTERPRET unset)"
    return probe, None


PROBE, WHY_NOT = _load_interpreted()
if WHY_NOT is not None:
    pytest.skip(WHY_NOT, allow_module_level=True)

from jelly.surrogates.triton_derivatives import (  # noqa: E402
    TRITON_DERIVATIVES,
    triton_derivative_of,
    triton_derivative_problem,
)


@pytest.fixture(autouse=True)
def interpreter(monkeypatch):
    """``TRITON_INTERPRET=1`` while a test of this module runs."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")


SURROGATES = [
    sg.Sigmoid(), sg.Sigmoid(alpha=1.5), sg.ATan(), sg.ATan(alpha=0.7), sg.SoftSign(), sg.Erf(alpha=1.3),
    sg.PiecewiseExp(alpha=2.0), sg.QPseudoSpike(), sg.QPseudoSpike(alpha=1.5), sg.SuperSpike(alpha=0.5),
    sg.NonzeroSignLogAbs(alpha=2.0), sg.SquarewaveFourierSeries(), sg.SquarewaveFourierSeries(n=5, T_period=3.0),
    sg.PiecewiseQuadratic(), sg.PiecewiseQuadratic(alpha=3.0), sg.PiecewiseLeakyReLU(),
    sg.PiecewiseLeakyReLU(w=0.3, c=0.2), sg.Rect(), sg.Rect(alpha=3.0), sg.S2NN(), sg.S2NN(alpha=2.0, beta=0.5),
    sg.LogTailedReLU(), sg.LogTailedReLU(alpha=0.2), sg.FakeNumericalGradient(), sg.LeakyKReLU(leak=0.1, k=2.0),
    sg.DeterministicPass(),
]


def grid(surrogate) -> torch.Tensor:
    """A dense grid plus every branch point of the surrogate (and its float32 neighbours)."""
    points = [0.0, 1.0, -1.0]
    for value in surrogate.hyperparameters.values():
        value = float(value)
        if value > 0:
            points += [value, 1.0 / value, 0.5 / value]
    special = torch.tensor(points, dtype=torch.float32)
    special = torch.cat([special, -special])
    up = torch.nextafter(special, torch.full_like(special, math.inf))
    down = torch.nextafter(special, torch.full_like(special, -math.inf))
    return torch.cat([torch.linspace(-4, 4, 401), special, up, down, torch.tensor([-0.0])])


def triton_values(surrogate, x: torch.Tensor) -> torch.Tensor:
    form = triton_derivative_of(surrogate)
    out = torch.empty_like(x)
    block = 1024
    PROBE[(-(-x.numel() // block),)](x, out, x.numel(), *form.scalars, FN=form.fn, ORDER=form.order, BLOCK=block)
    return out


def test_every_surrogate_with_a_triton_form_is_covered():
    assert {type(s).__name__ for s in SURROGATES} == set(TRITON_DERIVATIVES)
    assert set(TRITON_DERIVATIVES) == set(sg.__all__) - {"__version__", "SpikeFunction", "SurrogateFunction",
                                                          "heaviside", "PoissonPass"}


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:overflow:RuntimeWarning")
@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
def test_triton_form_matches_derivative(surrogate):
    x = grid(surrogate)
    expected = surrogate.derivative(x)
    actual = triton_values(surrogate, x)
    scale = float(expected.abs().max())
    error = (actual - expected).abs()
    worst = int(error.argmax())
    assert float(error[worst]) <= 2e-6 * scale, (
        f"x={float(x[worst])!r}: triton {float(actual[worst])!r} vs torch {float(expected[worst])!r}"
    )


def test_no_triton_form_for_poisson_primitive_mode_and_subclasses():
    assert "PoissonPass has no Triton derivative" in triton_derivative_problem(sg.PoissonPass())
    assert "primitive mode" in triton_derivative_problem(sg.Sigmoid(spiking=False))

    class MySigmoid(sg.Sigmoid):
        pass

    assert "MySigmoid has no Triton derivative" in triton_derivative_problem(MySigmoid())
    assert "SurrogateFunction" in triton_derivative_problem(torch.sigmoid)
    assert triton_derivative_problem(sg.ATan()) is None
    with pytest.raises(TypeError, match="PoissonPass"):
        triton_derivative_of(sg.PoissonPass())


def test_importing_the_package_does_not_import_triton():
    import subprocess
    import sys

    code = "import sys, jelly.surrogates; assert 'triton' not in sys.modules, 'triton imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
