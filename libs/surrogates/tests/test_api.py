"""Public API: names, SpikingJelly defaults, repr, hyper-parameters, argument validation."""

from __future__ import annotations

import copy
import inspect
import math
import pickle

import pytest
import torch

import jelly.surrogates as sg
from jelly.surrogates import base, piecewise, smooth, straight_through

# SpikingJelly's defaults (activation_based/surrogate.py)
SPIKINGJELLY_DEFAULTS = {
    "Sigmoid": {"alpha": 4.0},
    "ATan": {"alpha": 2.0},
    "PiecewiseQuadratic": {"alpha": 1.0},
    "PiecewiseExp": {"alpha": 1.0},
    "SoftSign": {"alpha": 2.0},
    "Erf": {"alpha": 2.0},
    "PiecewiseLeakyReLU": {"w": 1.0, "c": 0.01},
    "S2NN": {"alpha": 4.0, "beta": 1.0},
    "QPseudoSpike": {"alpha": 2.0},
    "LeakyKReLU": {"leak": 0.0, "k": 1.0},
    "FakeNumericalGradient": {"alpha": 0.3},
    "LogTailedReLU": {"alpha": 0.0},
    "DeterministicPass": {},
    "Rect": {"alpha": 1.0},
    "SquarewaveFourierSeries": {"n": 2, "T_period": 8.0},
    "PoissonPass": {},
    "SuperSpike": {"alpha": 1.0},
    "NonzeroSignLogAbs": {"alpha": 1.0},
}

ALPHA_CLASSES = [name for name, d in SPIKINGJELLY_DEFAULTS.items() if "alpha" in d]


def _surrogate_classes() -> list[type]:
    found = []
    for module in (smooth, piecewise, straight_through):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, sg.SurrogateFunction) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_every_surrogate_is_exported() -> None:
    classes = _surrogate_classes()
    assert {c.__name__ for c in classes} == set(SPIKINGJELLY_DEFAULTS)
    for cls in classes:
        assert cls.__name__ in sg.__all__
        assert getattr(sg, cls.__name__) is cls
    for name in sg.__all__:
        assert hasattr(sg, name), name
    assert len(set(sg.__all__)) == len(sg.__all__)


def test_old_import_location_still_works() -> None:
    from jelly.surrogates.base import ATan, Sigmoid

    assert ATan is sg.ATan and Sigmoid is sg.Sigmoid
    with pytest.raises(AttributeError):
        base.NoSuchSurrogate  # noqa: B018


@pytest.mark.parametrize("name", sorted(SPIKINGJELLY_DEFAULTS))
def test_defaults_follow_spikingjelly(name: str) -> None:
    module = getattr(sg, name)()
    assert module.hyperparameters == SPIKINGJELLY_DEFAULTS[name]
    assert module.spiking is True
    for key, value in SPIKINGJELLY_DEFAULTS[name].items():
        assert getattr(module, key) == value


@pytest.mark.parametrize("name", sorted(SPIKINGJELLY_DEFAULTS))
def test_docstring_writes_out_the_formulas(name: str) -> None:
    doc = getattr(sg, name).__doc__
    assert doc and "g(x)" in doc and "g'(x)" in doc


def test_repr() -> None:
    assert repr(sg.ATan()) == "ATan(alpha=2.0, spiking=True)"
    assert repr(sg.Sigmoid(alpha=5, spiking=False)) == "Sigmoid(alpha=5.0, spiking=False)"
    assert repr(sg.PiecewiseLeakyReLU(w=0.5, c=0.1)) == "PiecewiseLeakyReLU(w=0.5, c=0.1, spiking=True)"
    assert repr(sg.S2NN()) == "S2NN(alpha=4.0, beta=1.0, spiking=True)"
    assert repr(sg.LeakyKReLU(leak=0.1, k=2)) == "LeakyKReLU(leak=0.1, k=2.0, spiking=True)"
    assert repr(sg.SquarewaveFourierSeries(n=4)) == "SquarewaveFourierSeries(n=4, T_period=8.0, spiking=True)"
    assert repr(sg.DeterministicPass()) == "DeterministicPass(spiking=True)"
    assert repr(sg.PoissonPass(spiking=False)) == "PoissonPass(spiking=False)"


def test_repr_every_case(case) -> None:
    text = repr(case.make())
    assert text.startswith(f"{case.name}(") and text.endswith("spiking=True)")
    for key, value in case.kwargs.items():
        assert f"{key}={float(value) if key != 'n' else value}" in text


def test_positional_arguments_follow_spikingjelly() -> None:
    assert sg.ATan(3.0, False).hyperparameters == {"alpha": 3.0} and not sg.ATan(3.0, False).spiking
    assert sg.PiecewiseLeakyReLU(0.5, 0.2).hyperparameters == {"w": 0.5, "c": 0.2}
    assert sg.S2NN(2.0, 0.5).hyperparameters == {"alpha": 2.0, "beta": 0.5}
    assert sg.LeakyKReLU(False, 0.1, 2.0).hyperparameters == {"leak": 0.1, "k": 2.0}
    assert sg.SquarewaveFourierSeries(3, 4.0).hyperparameters == {"n": 3, "T_period": 4.0}
    assert not sg.DeterministicPass(False).spiking


def test_set_spiking_mode(case) -> None:
    module = case.make()
    x = case.points(n=16)
    module.set_spiking_mode(False)
    assert torch.equal(module(x), module.primitive(x))
    module.set_spiking_mode(True)
    if case.heaviside_forward:
        assert torch.equal(module(x), (x >= 0).double())
    with pytest.raises(TypeError, match="spiking"):
        module.set_spiking_mode(1)


def test_module_has_no_state_and_survives_copies(case) -> None:
    module = case.make()
    assert dict(module.state_dict()) == {}
    x = case.points(n=16)
    for clone in (copy.deepcopy(module), pickle.loads(pickle.dumps(module))):
        assert repr(clone) == repr(module)
        assert torch.equal(clone.derivative(x), module.derivative(x))


def test_works_inside_a_network(case) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), case.make())
    y = net(torch.randn(2, 3))
    assert y.shape == (2, 4)
    y.sum().backward()
    assert net[0].weight.grad is not None


@pytest.mark.parametrize("name", ALPHA_CLASSES)
@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, -math.inf])
def test_bad_alpha_value_raises_value_error(name: str, bad: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        getattr(sg, name)(alpha=bad)


@pytest.mark.parametrize("name", [n for n in ALPHA_CLASSES if n != "LogTailedReLU"])
def test_zero_alpha_raises_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="alpha must be > "):
        getattr(sg, name)(alpha=0.0)


@pytest.mark.parametrize("name", ALPHA_CLASSES)
@pytest.mark.parametrize("bad", ["2.0", object(), True, [1.0]])
def test_non_numeric_alpha_raises_type_error(name: str, bad) -> None:
    with pytest.raises(TypeError, match="alpha"):
        getattr(sg, name)(alpha=bad)


def test_alpha_none_means_default() -> None:
    assert sg.ATan(alpha=None).alpha == 2.0
    assert sg.Sigmoid(None).alpha == 4.0


def test_alpha_accepts_numbers_of_other_types() -> None:
    assert sg.ATan(alpha=3).alpha == 3.0
    assert sg.ATan(alpha=torch.tensor(1.5)).alpha == 1.5
    assert isinstance(sg.ATan(alpha=3).alpha, float)


def test_class_specific_ranges() -> None:
    with pytest.raises(ValueError, match="alpha must be > 1"):
        sg.QPseudoSpike(alpha=1.0)
    with pytest.raises(ValueError, match="alpha must be > 1"):
        sg.QPseudoSpike(alpha=0.5)
    assert sg.QPseudoSpike(alpha=1.01).alpha == 1.01
    assert sg.LogTailedReLU(alpha=0.0).alpha == 0.0
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        sg.LogTailedReLU(alpha=-0.1)


def test_multi_argument_validation() -> None:
    with pytest.raises(ValueError, match="w must be > 0"):
        sg.PiecewiseLeakyReLU(w=0.0)
    with pytest.raises(ValueError, match="c must be >= 0"):
        sg.PiecewiseLeakyReLU(c=-0.1)
    with pytest.raises(TypeError, match="w"):
        sg.PiecewiseLeakyReLU(w="1")
    with pytest.raises(ValueError, match="beta"):
        sg.S2NN(beta=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        sg.S2NN(alpha=0.0)
    with pytest.raises(ValueError, match="leak must be finite"):
        sg.LeakyKReLU(leak=math.nan)
    with pytest.raises(ValueError, match="k must be finite"):
        sg.LeakyKReLU(k=math.inf)
    with pytest.raises(ValueError, match="n must be >= 2"):
        sg.SquarewaveFourierSeries(n=1)
    with pytest.raises(TypeError, match="n must be an int"):
        sg.SquarewaveFourierSeries(n=2.0)
    with pytest.raises(TypeError, match="n must be an int"):
        sg.SquarewaveFourierSeries(n=True)
    with pytest.raises(ValueError, match="T_period must be > 0"):
        sg.SquarewaveFourierSeries(T_period=0)


def test_spiking_must_be_bool() -> None:
    with pytest.raises(TypeError, match="spiking must be a bool"):
        sg.ATan(spiking="yes")
    with pytest.raises(TypeError, match="spiking must be a bool"):
        sg.ATan(2.0, 1)
    # SpikingJelly 2.0 order (leak, k, spiking) given positionally is caught, not misread
    with pytest.raises(TypeError, match="spiking must be a bool"):
        sg.LeakyKReLU(0.1, 1.0)
    with pytest.raises(TypeError, match="spiking must be a bool"):
        sg.PoissonPass(0.5)


def test_straight_through_classes_take_no_alpha() -> None:
    for cls in (sg.DeterministicPass, sg.PoissonPass):
        with pytest.raises(TypeError):
            cls(alpha=1.0)
        assert not hasattr(cls(), "alpha")


def test_base_class_is_abstract() -> None:
    module = sg.SurrogateFunction()
    x = torch.zeros(3)
    with pytest.raises(NotImplementedError):
        module.primitive(x)
    with pytest.raises(NotImplementedError):
        module.derivative(x)
