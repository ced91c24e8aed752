"""Tests of the stateful-module base, step modes and the functional helpers."""

import copy
import pickle

import pytest
import torch
from torch import nn

from jelly.core import MemoryModule, StepModeError, functional, layers


class Counter(MemoryModule):
    """Adds a running sum of its inputs (a minimal stateful module)."""

    def __init__(self, step_mode="s"):
        super().__init__(step_mode)
        self.register_memory("total", 0.0)

    def single_step_forward(self, x):
        self.total = self.total + x
        return self.total


def test_step_mode_validation():
    with pytest.raises(ValueError, match="step_mode"):
        Counter(step_mode="x")
    c = Counter()
    with pytest.raises(ValueError):
        c.step_mode = "multi"
    c.step_mode = "m"
    assert c.step_mode == "m"


def test_memory_reset_detach_and_to():
    c = Counter()
    x = torch.ones(2, 3, requires_grad=True)
    c(x)
    out = c(x)
    assert torch.equal(out, torch.full((2, 3), 2.0))
    assert out.requires_grad
    c.detach()
    assert not c.total.requires_grad
    c = c.double()
    assert c.total.dtype == torch.float64
    c.reset()
    assert c.total == 0.0
    assert "total" in dir(c)
    assert dict(c.named_memories()) == {"total": 0.0}


def test_register_memory_rejects_existing_attribute():
    c = Counter()
    with pytest.raises(AttributeError):
        c.register_memory("step_mode", 1)


def test_multi_step_default_loops_single_step():
    c = Counter(step_mode="m")
    x_seq = torch.arange(12.0).reshape(3, 2, 2)
    out = c(x_seq)
    assert torch.equal(out, torch.cumsum(x_seq, 0))
    with pytest.raises(StepModeError, match=r"\[T, N, \*\]"):
        Counter(step_mode="m")(torch.ones(3))


def test_reset_net_set_step_mode_detach_net():
    net = nn.Sequential(Counter(), nn.ReLU(), nn.Sequential(Counter()), layers.Linear(2, 2))
    net(torch.ones(1, 2))
    functional.reset_net(net)
    assert net[0].total == 0.0 and net[2][0].total == 0.0
    functional.set_step_mode(net, "m")
    assert net[0].step_mode == "m" and net[2][0].step_mode == "m" and net[3].step_mode == "m"
    with pytest.raises(ValueError):
        functional.set_step_mode(net, "q")
    net[0].total = torch.ones(2, requires_grad=True) * 2
    functional.detach_net(net)
    assert not net[0].total.requires_grad


def test_set_backend():
    class WithBackend(nn.Module):
        supported_backends = ("torch", "cupy")
        backend = "torch"

    net = nn.Sequential(WithBackend(), WithBackend())
    functional.set_backend(net, "cupy")
    assert all(m.backend == "cupy" for m in net)
    with pytest.raises(ValueError, match="triton"):
        functional.set_backend(net, "triton")


def test_multi_step_forward_and_seq_to_ann_forward():
    torch.manual_seed(0)
    lin = nn.Linear(4, 3)
    x_seq = torch.randn(5, 2, 4)
    expected = torch.stack([lin(x) for x in x_seq])
    assert torch.allclose(functional.multi_step_forward(x_seq, lin), expected)
    assert torch.allclose(functional.seq_to_ann_forward(x_seq, lin), expected, atol=1e-6)
    assert torch.allclose(functional.seq_to_ann_forward(x_seq, [lin, nn.ReLU()]), expected.relu(), atol=1e-6)
    with pytest.raises(StepModeError):
        functional.seq_to_ann_forward(torch.ones(3), lin)


def test_memory_module_pickles_and_deepcopies():
    c = Counter()
    c(torch.ones(2))
    c2 = pickle.loads(pickle.dumps(c))
    assert torch.equal(c2.total, c.total)
    c3 = copy.deepcopy(c)
    c3.reset()
    assert c3.total == 0.0 and isinstance(c.total, torch.Tensor)
