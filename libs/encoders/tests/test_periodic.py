"""PeriodicEncoder: repetition with period T, step modes, reset, pattern checks, devices."""

from __future__ import annotations

import pytest
import torch

from jelly.core.functional import reset_net
from jelly.encoders import PeriodicEncoder


def pattern(T: int = 5, n: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, n, generator=g) < 0.4).float()


def test_repeats_with_period_T():
    p = pattern(5)
    enc = PeriodicEncoder(p)
    assert enc.T == 5
    out = torch.stack([enc() for _ in range(13)])
    for k in range(13):
        assert torch.equal(out[k], p[k % 5])


def test_documented_example():
    # Three neurons, T=5: 01000, 10000, 00001.
    p = torch.tensor([[0, 1, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]], dtype=torch.float32).T
    enc = PeriodicEncoder(p)
    out = torch.stack([enc() for _ in range(20)])
    assert out.sum(0).tolist() == [4.0, 4.0, 4.0]
    assert out[:, 0].nonzero().flatten().tolist() == [1, 6, 11, 16]
    assert out[:, 2].nonzero().flatten().tolist() == [4, 9, 14, 19]


def test_input_is_ignored():
    p = pattern(4)
    enc = PeriodicEncoder(p)
    assert torch.equal(enc(torch.rand(7, 7)), p[0])
    assert torch.equal(enc(None), p[1])


def test_single_step_loop_equals_multi_step():
    p = pattern(4)
    loop_enc = PeriodicEncoder(p)
    loop = torch.stack([loop_enc() for _ in range(10)])
    multi = PeriodicEncoder(p, step_mode="m")
    out = torch.cat([multi(torch.zeros(3, 1)), multi(torch.zeros(7, 1))])
    assert torch.equal(loop, out)
    assert torch.equal(PeriodicEncoder(p, step_mode="m")(), p)  # None: one full period


def test_reset_restarts_and_reset_net_reaches_it():
    p = pattern(3)
    enc = PeriodicEncoder(p)
    enc()
    enc()
    enc.reset()
    assert torch.equal(enc(), p[0])
    net = torch.nn.Sequential(enc, torch.nn.Identity())
    enc()
    reset_net(net)
    assert enc.t == 0 and torch.equal(enc(), p[0])


def test_bool_and_int_patterns_keep_their_dtype():
    p = pattern(3).bool()
    assert PeriodicEncoder(p)().dtype == torch.bool
    assert PeriodicEncoder(p.to(torch.uint8))().dtype == torch.uint8


def test_pattern_is_copied_moved_and_saved(device):
    p = pattern(3)
    enc = PeriodicEncoder(p).to(device)
    p.zero_()  # the encoder holds its own copy
    assert enc().device.type == device.type
    assert enc.out_spike.sum() > 0
    assert "out_spike" in enc.state_dict()
    enc64 = PeriodicEncoder(pattern(3)).to(torch.float64)
    assert enc64().dtype == torch.float64


def test_set_out_spike_changes_period_and_resets():
    enc = PeriodicEncoder(pattern(3))
    enc()
    new = pattern(6, seed=1)
    enc.set_out_spike(new)
    assert enc.T == 6 and enc.t == 0
    assert torch.equal(torch.stack([enc() for _ in range(6)]), new)


def test_multi_dimensional_pattern():
    p = (torch.rand(4, 2, 3, 3) < 0.5).float()
    enc = PeriodicEncoder(p, step_mode="m")
    assert torch.equal(enc(torch.zeros(8, 1)), torch.cat([p, p]))


def test_bad_patterns_raise():
    with pytest.raises(ValueError, match="only 0 and 1"):
        PeriodicEncoder(torch.tensor([[0.0, 2.0]]))
    with pytest.raises(ValueError, match=r"shape \[T, \*\] with T >= 1, got shape \(0, 3\)"):
        PeriodicEncoder(torch.zeros(0, 3))
    with pytest.raises(ValueError, match=r"T >= 1, got shape \(\)"):
        PeriodicEncoder(torch.tensor(1.0))
    with pytest.raises(TypeError, match="spike pattern to be a torch.Tensor"):
        PeriodicEncoder([[0, 1]])
    with pytest.raises(TypeError, match="must be real"):
        PeriodicEncoder(torch.zeros(2, 2, dtype=torch.complex64))
