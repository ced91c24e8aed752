"""``backend='auto'`` by measurement (:mod:`jelly.neurons.backends.autotune`), checked on CPU.

Measuring is on for CUDA tensors by default; these tests turn it on for CPU tensors too and
register a toy op whose backends differ only in speed (or fail), so the choice is known.
"""

import time

import pytest
import torch

from jelly import neurons, surrogates
from jelly.neurons.backends import autotune, clear_autotune, register, resolve, set_autotune

OP = "test_autotune_toy"
CALLS: list[str] = []


def _scaled(name: str, delay: float):
    def fn(x, w):
        CALLS.append(name)
        time.sleep(delay)
        return x * w, x + w

    return fn


def _broken(x, w):
    CALLS.append("broken")
    raise RuntimeError("kernel exploded")


register(OP, "slow", priority=10)(_scaled("slow", 0.02))
register(OP, "broken", priority=15)(_broken)
register(OP, "fast", priority=20)(_scaled("fast", 0.0))
register(OP, "reference", priority=1000)(_scaled("reference", 0.0))


@pytest.fixture(autouse=True)
def cpu_tuning():
    set_autotune(True, devices=("cpu", "cuda"))
    clear_autotune()
    CALLS.clear()
    yield
    set_autotune(True, devices=("cuda",))
    clear_autotune()


def test_first_call_measures_and_later_calls_go_to_the_fastest():
    x = torch.randn(4, 3)
    first = resolve(OP, "auto", x)
    assert first.backend == "slow" and "will time slow, broken, fast" in first.reason
    a, b = first.fn(x, torch.tensor(2.0))
    assert torch.equal(a, x * 2) and torch.equal(b, x + 2)
    assert set(CALLS) == {"slow", "broken", "fast"}  # every candidate timed, never the reference
    assert CALLS[-1] == "fast"  # the real call ran the winner
    (record,) = autotune.autotune_records().values()
    assert record.winner == "fast" and set(record.times_ms) == {"slow", "fast"}
    assert "kernel exploded" in record.errors["broken"]
    CALLS.clear()
    again = resolve(OP, "auto", x)
    assert again.backend == "fast" and "measured" in again.reason and "broken" in again.reason
    again.fn(x, torch.tensor(2.0))
    assert CALLS == ["fast"]


def test_input_kinds_are_measured_separately():
    resolve(OP, "auto", torch.randn(4, 3)).fn(torch.randn(4, 3), torch.tensor(1.0))
    resolve(OP, "auto", torch.randn(4, 3)).fn(torch.randn(4, 3), torch.tensor(1.0))  # same kind: no new record
    resolve(OP, "auto", torch.randn(8, 3)).fn(torch.randn(8, 3), torch.tensor(1.0))  # another T
    resolve(OP, "auto", torch.randn(4, 5)).fn(torch.randn(4, 5), torch.tensor(1.0))  # width 5 -> bucket 8
    resolve(OP, "auto", torch.randn(4, 7)).fn(torch.randn(4, 7), torch.tensor(1.0))  # width 7 -> bucket 8 too
    assert len(autotune.autotune_records()) == 3


def test_measuring_leaves_the_callers_graph_and_grads_alone():
    w = torch.tensor(3.0, requires_grad=True)
    x = (torch.randn(4, 3, requires_grad=True) * 1.0)  # non-leaf, part of the caller's graph
    a, b = resolve(OP, "auto", x).fn(x, w)
    assert w.grad is None
    (a.sum() + b.sum()).backward()
    assert torch.allclose(w.grad, x.sum() + x.numel())


def test_explicit_backend_and_disabled_tuning_use_no_measurement():
    x = torch.randn(4, 3)
    assert resolve(OP, "slow", x).fn(x, torch.tensor(1.0)) is not None
    set_autotune(False)
    chosen = resolve(OP, "auto", x)
    assert chosen.backend == "slow" and "picked" in chosen.reason
    chosen.fn(x, torch.tensor(1.0))
    assert CALLS == ["slow", "slow"] and not autotune.autotune_records()


def test_cpu_is_not_measured_by_default():
    set_autotune(True)  # the default: CUDA only
    assert resolve(OP, "auto", torch.randn(4, 3)).backend == "slow"
    assert not autotune.autotune_enabled_for(torch.randn(2))


@pytest.mark.filterwarnings("ignore:Dynamo does not know how to trace")
def test_nothing_is_measured_while_torch_compile_traces():
    def f(x):
        return resolve(OP, "auto", x).fn(x, 2.0)[0]

    x = torch.randn(4, 3)
    compiled = torch.compile(f, backend="eager")
    out = compiled(x)
    assert torch.equal(out, x * 2)
    assert not autotune.autotune_records()


def test_a_neuron_module_measures_and_still_matches_the_reference():
    pytest.importorskip("numba")  # the CPU candidates are then numba, numba_recompute and torch
    torch.manual_seed(0)

    def make(backend):
        return neurons.LIFNode(tau=2.0, step_mode="m", backend=backend, surrogate_function=surrogates.ATan())

    tuned, reference = make("auto"), make("reference")
    assert len(tuned.describe(torch.zeros(6, 4, 5)).reason.split("will time")) == 2  # numba(s) and torch
    x = torch.randn(6, 4, 5) * 2
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, out2 = tuned(x1), reference(x2)
    assert torch.equal(out1, out2)
    out1.sum().backward()
    out2.sum().backward()
    assert torch.allclose(x1.grad, x2.grad, atol=1e-5)
    (record,) = autotune.autotune_records().values()
    assert "reference" not in record.times_ms and len(record.times_ms) >= 2
    assert "measured" in tuned.describe(x).reason
