"""Batch-norm folding: exact (to float rounding) and only where it is valid."""

import pytest
import torch
from torch import fx, nn

from jelly.ann2snn.fusion import fold_batch_norms
from jelly.ann2snn.tracing import propagate_shapes, trace


def _fold(model, x):
    gm = trace(model.eval())
    propagate_shapes(gm, x)
    folds = fold_batch_norms(gm)
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm, folds


@pytest.mark.parametrize(
    "model, shape",
    [
        (nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8, eps=1e-3)), (3, 6, 6)),
        (nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8)), (3, 6, 6)),
        (nn.Sequential(nn.Conv1d(2, 4, 3), nn.BatchNorm1d(4, eps=1e-3)), (2, 9)),
        (nn.Sequential(nn.ConvTranspose2d(3, 5, 2, stride=2), nn.BatchNorm2d(5)), (3, 4, 4)),
        (nn.Sequential(nn.Linear(6, 7), nn.BatchNorm1d(7, eps=1e-3)), (6,)),
    ],
    ids=["conv2d", "conv2d-nobias", "conv1d", "convtranspose2d", "linear"],
)
def test_fold_is_exact(model, shape, randomize_bn):
    randomize_bn(model).eval()
    x = torch.randn(5, *shape)
    with torch.no_grad():
        expected = model(x)
        gm, folds = _fold(model, x)
        got = gm(x)
    assert len(folds) == 1
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in gm.modules())
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_no_fold_when_layer_output_is_reused(randomize_bn):
    class Branch(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            y = self.conv(x)
            return self.bn(y) + y  # the conv output is read twice: folding would change `+ y`

    model = randomize_bn(Branch()).eval()
    x = torch.randn(3, 2, 5, 5)
    gm, folds = _fold(model, x)
    assert folds == []
    torch.testing.assert_close(gm(x), model(x))


def test_no_fold_of_shared_conv(randomize_bn):
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            return self.conv(self.bn(self.conv(x)))  # conv called twice

    model = randomize_bn(Shared()).eval()
    x = torch.randn(2, 4, 5, 5)
    gm, folds = _fold(model, x)
    assert folds == []
    assert isinstance(gm, fx.GraphModule)
    torch.testing.assert_close(gm(x), model(x))
