"""Refused ops, tracing failures, bad inputs, and the conversion report."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from jelly.ann2snn import (
    ConversionError,
    Converter,
    TracingError,
    UnsupportedOperationError,
    simulate,
)
from jelly.neurons import IFNode


def _data(shape=(1, 8, 8), n=8):
    return [(torch.rand(n, *shape), torch.zeros(n, dtype=torch.long))]


class WithGELU(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.act = nn.GELU()
        self.head = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        return self.head(self.act(self.conv(x)).flatten(1))


def test_gelu_is_refused_naming_op_node_and_module():
    with pytest.raises(UnsupportedOperationError) as info:
        Converter(_data(), progress=False)(WithGELU())
    message = str(info.value)
    assert "nn.GELU at node 'act'" in message
    assert "module 'act'" in message
    assert "non-ReLU activation" in message
    assert "allow=['nn.GELU']" in message
    assert [r.op for r in info.value.records] == ["nn.GELU"]


def test_functional_gelu_and_maxpool_are_refused_together():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            return F.max_pool2d(F.gelu(self.pool(self.conv(x))), 2).flatten(1)

    with pytest.raises(UnsupportedOperationError) as info:
        Converter(_data(), progress=False)(Net())
    message = str(info.value)
    assert "3 operation(s)" in message
    assert "nn.MaxPool2d at node 'pool'" in message and "max pooling" in message
    assert "F.gelu at node 'gelu'" in message
    assert "F.max_pool2d at node 'max_pool2d'" in message
    assert "average pooling" in message  # the suggested fix


def test_allow_keeps_refused_ops_and_reports_them_as_left():
    snn = Converter(_data(), allow=["nn.GELU"], progress=False)(WithGELU())
    left = snn.report.left
    assert [(r.node, r.op) for r in left] == [("act", "nn.GELU")]
    assert not snn.report.exact
    assert "WARNING" in str(snn.report)
    assert isinstance(snn.net.act, nn.GELU)
    out = simulate(snn, _data()[0][0], 4)[4]
    assert out.shape == (8, 3)
    # allow by node name and allow=True work too
    assert Converter(_data(), allow=["act"], progress=False)(WithGELU()).report.left
    assert Converter(_data(), allow=True, progress=False)(WithGELU()).report.left
    with pytest.raises(UnsupportedOperationError):
        Converter(_data(), allow=["nn.SiLU"], progress=False)(WithGELU())


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow
            return self.fc(x)
        return -x


def test_data_dependent_control_flow_explains_itself():
    with pytest.raises(TracingError) as info:
        Converter([torch.rand(2, 4)], progress=False)(Branchy())
    message = str(info.value)
    assert "data-dependent control flow" in message
    assert "if x.sum() > 0" in message  # points at the user's line
    assert "leaf_modules" in message and "concrete_args" in message and "torch.fx.wrap" in message
    assert isinstance(info.value, ConversionError)


def test_leaf_module_workaround_then_needs_allow():
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Branchy()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(F.relu(self.inner(x)))

    data = [torch.rand(4, 4)]
    with pytest.raises(UnsupportedOperationError, match="no conversion rule for this module"):
        Converter(data, leaf_modules=[Branchy], progress=False)(Outer())
    snn = Converter(data, leaf_modules=[Branchy], allow=["inner"], progress=False)(Outer())
    assert [r.node for r in snn.report.left] == ["inner"]
    assert len(snn.report.replaced) == 1


def test_stateful_layer_is_refused():
    net = nn.Sequential(nn.Linear(4, 4), IFNode(), nn.Linear(4, 2))
    with pytest.raises(UnsupportedOperationError, match="layer with state"):
        Converter([torch.rand(4, 4)], progress=False)(net)


def test_products_of_input_dependent_tensors_are_refused_but_constant_scaling_is_kept():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x) * self.b(x)

    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.w = nn.Parameter(torch.rand(4))

        def forward(self, x):
            return F.relu(self.a(x)) * 0.5 * self.w / 2.0

    with pytest.raises(UnsupportedOperationError, match="product of two input-dependent tensors"):
        Converter([torch.rand(4, 4)], progress=False)(Gate())
    report = Converter([torch.rand(4, 4)], progress=False)(Scale()).report
    assert report.exact
    assert {r.detail for r in report.kept} >= {"product with a constant (linear)", "division by a constant (linear)"}


def test_batch_mixing_is_detected():
    class Centre(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            h = self.fc(x)
            return F.relu(h - h.mean(0, keepdim=True))

    with pytest.raises(ConversionError, match="node 'sub' mixes samples across the batch"):
        Converter([torch.rand(4, 4)], progress=False)(Centre())


def test_bad_inputs():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    with pytest.raises(TypeError, match="re-iterable"):
        Converter(iter([torch.rand(2, 4)]))
    with pytest.raises(ConversionError, match="empty"):
        Converter([], progress=False)(net)
    with pytest.raises(ValueError, match="mode must be"):
        Converter([torch.rand(2, 4)], mode="median")
    with pytest.raises(ValueError, match="mode must be"):
        Converter([torch.rand(2, 4)], mode=2.0)
    with pytest.raises(ConversionError, match="failed on a calibration batch of shape"):
        Converter([torch.rand(2, 5)], progress=False)(net)
    with pytest.raises(TypeError, match="first element is a tensor"):
        Converter([{"x": torch.rand(2, 4)}], progress=False)(net)


def test_report_content():
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3),
    )
    data = _data() + _data()
    ann_copy = [p.clone() for p in net.parameters()]
    snn = Converter(data, mode="99.9%", progress=False)(net)
    report = snn.report
    assert report.mode == "99.9%"
    assert report.calibration_batches == 2 and report.calibration_samples == 16
    assert [(r.node, r.op) for r in report.replaced] == [("_2", "nn.ReLU")]
    assert [(r.node, r.detail) for r in report.folded] == [("_1", "folded into '0'")]
    assert [(r.node, r.op) for r in report.removed] == [("_3", "nn.Dropout")]
    assert [r.op for r in report.kept] == ["nn.Conv2d", "nn.AvgPool2d", "nn.Flatten", "nn.Linear"]
    assert report.left == [] and report.exact and report.static_input
    text = str(report)
    assert "1 replaced, 1 folded, 1 removed, 4 kept, 0 left" in text
    lam = snn.activations()[0].scale
    assert f"λ = {lam:.6g}" in text
    assert snn.scales == {"2": lam}
    # the ANN itself is left untouched (the converter works on a copy)
    assert all(torch.equal(a, b) for a, b in zip(ann_copy, net.parameters()))
    assert isinstance(net[2], nn.ReLU) and isinstance(net[1], nn.BatchNorm2d)
    # fuse_bn=False keeps the batch norm (an affine map is still exact)
    kept_bn = Converter(data, fuse_bn=False, progress=False)(net).report
    assert kept_bn.folded == [] and "eval-mode batch norm" in {r.detail.split(" (")[0] for r in kept_bn.kept}
    with pytest.raises(ValueError, match="action must be one of"):
        report.by_action("dropped")


def test_never_active_relu_gets_a_note():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.fill_(-1.0)
    snn = Converter([torch.rand(4, 4)], progress=False)(net)
    assert "never active" in snn.report.notes[0]
    assert snn.activations()[0].scale == 1.0
