"""Micro-benchmark of one lif_fc_mnist training step (synthetic MNIST-sized batch)."""

from __future__ import annotations

import pytest
import torch

lif_fc_mnist = pytest.importorskip("jelly.examples.lif_fc_mnist")
encoders = pytest.importorskip("jelly.encoders")
functional = pytest.importorskip("jelly.core.functional")


def test_train_step(benchmark):
    net = lif_fc_mnist.LIFNet(784, 2.0)
    encoder = encoders.PoissonEncoder()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    img = torch.rand(64, 1, 28, 28, generator=generator)
    target = torch.nn.functional.one_hot(torch.randint(0, 10, (64,), generator=generator), 10).float()
    before = net.layer[1].weight.detach().clone()

    def step():
        out_fr = net(encoder.encode(img, 8)).mean(0)
        loss = torch.nn.functional.mse_loss(out_fr, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        functional.reset_net(net)
        return loss.item()

    loss = benchmark(step)
    assert 0.0 <= loss <= 1.0
    assert not torch.equal(before, net.layer[1].weight), "Adam updated the weights"
