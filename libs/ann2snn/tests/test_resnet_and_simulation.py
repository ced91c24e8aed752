"""A residual network with F.relu converts, and the SNN's firing-rate output converges to the ANN.

Also: single-step, multi-step and static-input runs agree; the fused inference loop equals
the IF neuron's own multi-step forward bit for bit.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from jelly.ann2snn import Converter, ExpandTime, SpikingActivation, accuracy_vs_time, simulate
from jelly.core import functional
from jelly.core.base import StateShapeError


class Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x  # residual addition (traced as an add)
        return F.relu(out)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.block1 = Block(6)
        self.block2 = Block(6)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.block1(x)
        x = F.avg_pool2d(x, 2)
        x = self.block2(x)
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.fc(self.drop(x))


@pytest.fixture
def resnet_and_data(randomize_bn, make_data):
    model = randomize_bn(TinyResNet()).eval()
    data = make_data((2, 8, 8), batches=1, batch_size=12)
    return model, data


def test_resnet_converts_and_rate_output_converges(resnet_and_data):
    model, data = resnet_and_data
    # mode 'max' over the very inputs we test on: no activation exceeds its threshold scale
    snn = Converter(data, mode="max", progress=False)(model)
    report = snn.report
    assert len(report.replaced) == 5 and len(report.folded) == 5 and len(report.removed) == 1
    assert report.exact
    assert {r.op for r in report.replaced} == {"torch.relu", "F.relu"}
    assert "operator.add" in {r.op for r in report.kept}  # the residual additions
    x = data[0][0]
    with torch.no_grad():
        ann = model(x)
    rates = simulate(snn, x, [16, 128, 1024], chunk_size=64)
    errors = {t: float((rates[t] - ann).abs().max()) for t in rates}
    scale = float(ann.abs().max())
    # Stated tolerance: at T=1024 the firing-rate output is within 1% of the ANN output range
    # (measured: 0.11% at T=1024, 0.9% at T=128, 7% at T=16).
    assert errors[1024] <= 0.01 * scale, errors
    assert errors[1024] < errors[128] < errors[16], errors
    assert (rates[1024].argmax(1) == ann.argmax(1)).float().mean() >= 0.9


def test_step_modes_and_static_input_agree(resnet_and_data):
    model, data = resnet_and_data
    snn = Converter(data, mode="99.9%", progress=False)(model)
    x = data[0][0][:5]
    T = 12
    functional.reset_net(snn)
    with torch.no_grad():
        single = torch.stack([snn(x) for _ in range(T)])
    functional.reset_net(snn)
    functional.set_step_mode(snn, "m")
    assert all(a.neuron.step_mode == "m" for a in snn.activations())
    with torch.no_grad():
        multi = snn(x.unsqueeze(0).expand(T, *x.shape))
        functional.reset_net(snn)
        static = snn.forward_static(x, T)
        functional.reset_net(snn)
        # two chunks carry the membrane over
        chunked = torch.cat([snn.forward_static(x, 5), snn.forward_static(x, 7)])
    assert multi.shape == (T, 5, 4)
    torch.testing.assert_close(multi, single, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(static, multi, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(chunked, multi, rtol=1e-5, atol=1e-5)
    rates = simulate(snn, x, [5, T], chunk_size=5)
    torch.testing.assert_close(rates[T], multi.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rates[5], multi[:5].mean(0), rtol=1e-5, atol=1e-5)
    assert snn.step_mode == "m"  # simulate restores the step mode it found


def test_fast_loop_equals_if_node_forward(resnet_and_data):
    model, data = resnet_and_data
    snn = Converter(data, progress=False)(model)
    x = data[0][0]
    functional.set_step_mode(snn, "m")
    x_seq = (x + 0.1 * torch.randn(9, *x.shape)).contiguous()  # a time-varying input
    with torch.no_grad():
        fast = snn(x_seq)
        v_fast = [a.neuron.v.clone() for a in snn.activations()]
        functional.reset_net(snn)
        for act in snn.activations():
            act.fast_inference = False
        slow = snn(x_seq)
        v_slow = [a.neuron.v.clone() for a in snn.activations()]
    assert torch.equal(fast, slow)
    assert all(torch.equal(a, b) for a, b in zip(v_fast, v_slow))


def test_gradients_flow_through_the_neuron_path(resnet_and_data):
    model, data = resnet_and_data
    snn = Converter(data, progress=False)(model)
    functional.set_step_mode(snn, "m")
    x_seq = data[0][0][:2].unsqueeze(0).repeat(3, 1, 1, 1, 1).requires_grad_()
    snn(x_seq).sum().backward()
    assert x_seq.grad is not None and x_seq.grad.shape == x_seq.shape


def test_forgetting_reset_raises(resnet_and_data):
    model, data = resnet_and_data
    snn = Converter(data, progress=False)(model)
    functional.set_step_mode(snn, "m")
    with torch.no_grad():
        snn.forward_static(data[0][0][:4], 3)
        with pytest.raises(StateShapeError, match="reset_net"):
            snn.forward_static(data[0][0][:3], 3)
    with pytest.raises(RuntimeError, match="step_mode='m'"):
        functional.set_step_mode(snn, "s")
        snn.forward_static(data[0][0], 3)


def test_static_prefix_expanded_where_it_meets_neuron_outputs(make_data):
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(5, 8)
            self.fc2 = nn.Linear(8, 3)
            self.skip = nn.Linear(5, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x))) + self.skip(x)

    data = make_data((5,), batches=1, batch_size=6)
    snn = Converter(data, progress=False)(Skip().eval())
    assert snn.report.static_input
    assert any(isinstance(m, ExpandTime) for m in snn.modules())
    x = data[0][0]
    functional.set_step_mode(snn, "m")
    with torch.no_grad():
        static = snn.forward_static(x, 6)
        functional.reset_net(snn)
        multi = snn(x.unsqueeze(0).expand(6, *x.shape))
    torch.testing.assert_close(static, multi)


def test_static_path_disabled_when_prefix_shapes_are_reused(make_data):
    class Viewing(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 6)

        def forward(self, x):
            n = x.size(0)  # shape of the input reused after a neuron
            return F.relu(self.fc1(x)).view(n, 2, 3)

    data = make_data((6,), batches=1, batch_size=4)
    snn = Converter(data, progress=False)(Viewing())
    assert not snn.report.static_input
    out = simulate(snn, data[0][0], 4)[4]
    assert out.shape == (4, 2, 3)


def test_accuracy_vs_time_on_a_separable_problem():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(64, 2, generator=g)
    y = (x[:, 0] < x[:, 1]).long()  # class 0 when unit pattern [1, -1] wins
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(4, 1))
        model[0].bias.zero_()
        model[2].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(1, 4))
        model[2].bias.zero_()
    loader = [(x[:32], y[:32]), (x[32:], y[32:])]
    snn = Converter(loader, mode="max", progress=False)(model)
    accs = accuracy_vs_time(snn, loader, [1, 50, 400], chunk_size=64, progress=False)
    assert set(accs) == {1, 50, 400}
    assert accs[400] >= 0.95 and accs[1] < accs[400]
    with pytest.raises(ValueError, match="positive integers"):
        accuracy_vs_time(snn, loader, [0], progress=False)
    assert isinstance(snn.activations()[0], SpikingActivation)
