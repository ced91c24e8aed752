"""Tests of the step-mode-aware layers and containers."""

import pytest
import torch
from torch import nn

from jelly.core import StepModeError, functional, layers

CASES = [
    (lambda m: layers.Linear(6, 4, step_mode=m), (6,)),
    (lambda m: layers.Conv1d(2, 3, 3, padding=1, step_mode=m), (2, 7)),
    (lambda m: layers.Conv2d(2, 3, 3, padding=1, step_mode=m), (2, 5, 5)),
    (lambda m: layers.Conv3d(2, 3, 3, padding=1, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layers.BatchNorm1d(6, step_mode=m), (6,)),
    (lambda m: layers.BatchNorm2d(2, step_mode=m), (2, 5, 5)),
    (lambda m: layers.BatchNorm3d(2, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layers.MaxPool1d(2, step_mode=m), (2, 8)),
    (lambda m: layers.MaxPool2d(2, step_mode=m), (2, 6, 6)),
    (lambda m: layers.MaxPool3d(2, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layers.AvgPool1d(2, step_mode=m), (2, 8)),
    (lambda m: layers.AvgPool2d(2, step_mode=m), (2, 6, 6)),
    (lambda m: layers.AvgPool3d(2, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layers.AdaptiveAvgPool1d(3, step_mode=m), (2, 8)),
    (lambda m: layers.AdaptiveAvgPool2d((2, 3), step_mode=m), (2, 6, 6)),
    (lambda m: layers.AdaptiveAvgPool3d(1, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layers.Flatten(step_mode=m), (2, 3, 3)),
]


@pytest.mark.parametrize("make, sample_shape", CASES)
def test_multi_step_equals_per_step(make, sample_shape):
    torch.manual_seed(0)
    T, N = 4, 3
    single = make("s").eval()
    multi = make("m").eval()
    multi.load_state_dict(single.state_dict())
    x_seq = torch.randn(T, N, *sample_shape)
    expected = torch.stack([single(x) for x in x_seq])
    out = multi(x_seq)
    assert out.shape == expected.shape
    assert torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("make, sample_shape", CASES[1:4] + CASES[5:-1])  # Linear, BatchNorm1d, Flatten: any rank
def test_wrong_rank_raises(make, sample_shape):
    with pytest.raises(StepModeError, match="step_mode"):
        make("s")(torch.randn(4, 3, *sample_shape))
    with pytest.raises(StepModeError, match="step_mode"):
        make("m")(torch.randn(3, *sample_shape))


def test_linear_multi_step_needs_time_dim():
    with pytest.raises(StepModeError):
        layers.Linear(6, 2, step_mode="m")(torch.randn(3, 6))


def test_batchnorm_multi_step_uses_all_steps_statistics():
    torch.manual_seed(0)
    bn = layers.BatchNorm2d(2, step_mode="m")
    x_seq = torch.randn(3, 4, 2, 5, 5) * 3 + 1
    y = bn(x_seq)
    flat = y.transpose(0, 2).reshape(2, -1)
    assert torch.allclose(flat.mean(1), torch.zeros(2), atol=1e-5)
    assert torch.allclose(flat.var(1, unbiased=False), torch.ones(2), atol=1e-3)


def test_flatten_keeps_time_and_batch():
    assert layers.Flatten(step_mode="m")(torch.zeros(3, 2, 4, 5, 6)).shape == (3, 2, 120)
    assert layers.Flatten()(torch.zeros(2, 4, 5, 6)).shape == (2, 120)


@pytest.mark.parametrize("cls", [layers.Dropout, layers.Dropout2d])
def test_dropout_mask_shared_over_time(cls):
    torch.manual_seed(0)
    T = 6
    x_seq = torch.ones(T, 4, 3, 5, 5)
    drop = cls(0.5, step_mode="m").train()
    y = drop(x_seq)
    assert torch.equal(y, y[0].expand_as(y))
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert 0 < (y[0] == 0).float().mean() < 1
    if cls is layers.Dropout2d:
        assert torch.equal(y[0], y[0, :, :, :1, :1].expand_as(y[0]))
    single = cls(0.5).train()
    steps = [single(x) for x in x_seq]
    assert all(torch.equal(s, steps[0]) for s in steps)
    first = steps[0]
    functional.reset_net(single)
    assert single.mask is None
    assert not torch.equal(single(x_seq[0]), first)  # a new mask after reset
    with pytest.raises(StepModeError, match="reset_net"):
        single(torch.ones(2, 3, 5, 5))
    assert torch.equal(drop.eval()(x_seq), x_seq)


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match="p"):
        layers.Dropout(1.0)


def test_containers():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 2, 3)
    x_seq = torch.randn(3, 2, 1, 6, 6)
    expected = torch.stack([conv(x) for x in x_seq])
    assert torch.allclose(layers.SeqToANNContainer(conv)(x_seq), expected, atol=1e-6)
    assert torch.allclose(layers.MultiStepContainer(conv)(x_seq), expected, atol=1e-6)
    smc = layers.StepModeContainer(False, conv, step_mode="m")
    assert torch.allclose(smc(x_seq), expected, atol=1e-6)
    smc_stateful = layers.StepModeContainer(True, conv, step_mode="m")
    assert torch.allclose(smc_stateful(x_seq), expected, atol=1e-6)
    smc.step_mode = "s"
    assert torch.allclose(smc(x_seq[0]), expected[0], atol=1e-6)
    with pytest.raises(StepModeError):
        layers.SeqToANNContainer(conv)(torch.randn(2))


def test_set_step_mode_leaves_step_mode_container_children():
    inner = layers.Conv2d(1, 1, 3)
    net = nn.Sequential(layers.StepModeContainer(False, inner), layers.Flatten())
    functional.set_step_mode(net, "m")
    assert net[0].step_mode == "m" and net[1].step_mode == "m" and inner.step_mode == "s"
