"""Average pooling after a converted ReLU moves into its SpikingActivation (and stays exact)."""

import torch
import torch.nn.functional as F
from torch import nn

from jelly.ann2snn import Converter, simulate
from jelly.core import functional


def _cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4, eps=1e-3), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(4, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
    )


def test_pools_are_fused_and_results_unchanged(randomize_bn, make_data):
    model = randomize_bn(_cnn()).eval()
    data = make_data((1, 12, 12), batches=1, batch_size=6)
    fused = Converter(data, progress=False)(model)
    plain = Converter(data, fuse_pool=False, progress=False)(model)
    pools = [a.pool for a in fused.activations()]
    assert isinstance(pools[0], nn.AvgPool2d) and isinstance(pools[1], nn.AdaptiveAvgPool2d)
    assert all(a.pool is None for a in plain.activations())
    details = [r.detail for r in fused.report.kept if r.op in ("nn.AvgPool2d", "nn.AdaptiveAvgPool2d")]
    assert details == ["average pooling (linear), fused into '2' (applied to the spikes before the output scale)",
                       "average pooling (linear), fused into '5' (applied to the spikes before the output scale)"]
    x = data[0][0]
    a, b = simulate(fused, x, [7, 40]), simulate(plain, x, [7, 40])
    for t in (7, 40):
        torch.testing.assert_close(a[t], b[t], rtol=1e-5, atol=1e-6)
    # fused fast loop == the neuron's own multi-step forward followed by the pooling, bit for bit
    for act in fused.activations():
        act.fast_inference = False
    slow = simulate(fused, x, [7, 40])
    assert all(torch.equal(a[t], slow[t]) for t in (7, 40))
    # single-step mode applies the pooling too
    functional.reset_net(fused)
    functional.set_step_mode(fused, "s")
    with torch.no_grad():
        single = sum(fused(x) for _ in range(7)) / 7
    torch.testing.assert_close(single, slow[7], rtol=1e-5, atol=1e-6)


def test_pool_not_fused_when_the_spikes_have_other_readers(make_data):
    class TwoReaders(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.pool = nn.AvgPool2d(2)

        def forward(self, x):
            s = F.relu(self.conv(x))
            return self.pool(s) + F.avg_pool2d(s, 2)  # the spikes are read twice

    snn = Converter(make_data((1, 6, 6), batches=1, batch_size=4), progress=False)(TwoReaders())
    assert snn.activations()[0].pool is None
    assert isinstance(snn.net.pool, nn.AvgPool2d)


def test_cpu_conversion_stores_conv_weights_channels_last(make_data):
    data = make_data((1, 12, 12), batches=1, batch_size=4)
    model = _cnn().eval()
    fast = Converter(data, progress=False)(model)
    plain = Converter(data, channels_last=False, progress=False)(model)
    assert fast.net.get_submodule("4").weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain.net.get_submodule("4").weight.is_contiguous(memory_format=torch.channels_last)
    x = data[0][0]
    a, b = simulate(fast, x, 20)[20], simulate(plain, x, 20)[20]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
