"""Every spelling of ReLU is found and replaced by scale -> IF -> scale."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from jelly.ann2snn import Converter, SpikingActivation, UnsupportedOperationError, simulate
from jelly.ann2snn.rules import is_relu
from jelly.neurons import IFNode

SPELLINGS = {
    "nn.ReLU": (lambda m, h: m.act(h), "nn.ReLU"),
    "nn.ReLU(inplace)": (lambda m, h: m.act_inplace(h), "nn.ReLU"),
    "F.relu": (lambda m, h: F.relu(h), "F.relu"),
    "F.relu(inplace)": (lambda m, h: F.relu(h, inplace=True), "F.relu"),
    "torch.relu": (lambda m, h: torch.relu(h), "torch.relu"),
    "torch.relu_": (lambda m, h: torch.relu_(h), "torch.relu_"),
    "Tensor.relu": (lambda m, h: h.relu(), "Tensor.relu"),
    "Tensor.relu_": (lambda m, h: h.relu_(), "Tensor.relu_"),
    "torch.clamp(min=0)": (lambda m, h: torch.clamp(h, min=0), "torch.clamp"),
    "Tensor.clamp_min(0)": (lambda m, h: h.clamp_min(0.0), "Tensor.clamp_min"),
}


class TwoLayer(nn.Module):
    def __init__(self, spelling):
        super().__init__()
        self.fc1 = nn.Linear(6, 12)
        self.fc2 = nn.Linear(12, 3)
        self.act = nn.ReLU()
        self.act_inplace = nn.ReLU(inplace=True)
        self.spelling = spelling

    def forward(self, x):
        return self.fc2(self.spelling(self, self.fc1(x)))


class DiscardedInplace(TwoLayer):
    """`F.relu(h, inplace=True)` whose result is thrown away; `h` is used afterwards."""

    def forward(self, x):
        h = self.fc1(x)
        F.relu(h, inplace=True)
        h.relu_()
        return self.fc2(h)


def _check(model, expected_ops):
    data = [(torch.rand(32, 6) * 2 - 1, torch.zeros(32))]
    snn = Converter(data, mode="max", momentum=None, progress=False)(model)
    replaced = snn.report.replaced
    assert [r.op for r in replaced] == expected_ops
    assert len(snn.activations()) == len(expected_ops)
    for act in snn.activations():
        assert isinstance(act.neuron, IFNode) and act.neuron.v_reset is None and act.neuron.v_threshold == 1.0
    # no ReLU of any kind is left in the converted graph
    for node in snn.net.graph.nodes:
        if node.op in ("call_module", "call_function", "call_method"):
            assert not is_relu(node, snn.net), node.name
    acts = [n for n in snn.net.graph.nodes
            if n.op == "call_module" and isinstance(snn.net.get_submodule(n.target), SpikingActivation)]
    assert len(acts) == len(expected_ops)
    x = data[0][0]
    with torch.no_grad():
        ann = model.eval()(x.clone())
    rate = simulate(snn, x, 2000)[2000]
    torch.testing.assert_close(rate, ann, atol=0.02 * float(ann.abs().max()), rtol=0)
    return snn


@pytest.mark.parametrize("name", list(SPELLINGS))
def test_each_relu_spelling_is_replaced(name):
    fn, op = SPELLINGS[name]
    _check(TwoLayer(fn), [op])


def test_discarded_inplace_relu_is_still_applied():
    # Two in-place ReLUs in a row on the same tensor: both replaced, and fc2 reads the result.
    _check(DiscardedInplace(lambda m, h: h), ["F.relu", "Tensor.relu_"])


def test_clamp_with_upper_bound_is_not_relu():
    model = TwoLayer(lambda m, h: torch.clamp(h, min=0, max=1))
    with pytest.raises(UnsupportedOperationError, match="torch.clamp at node 'clamp'"):
        Converter([(torch.rand(4, 6), 0)], progress=False)(model)
