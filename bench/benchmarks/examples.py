"""Speed of the examples' inner loops: one ``lif_fc_mnist`` training step, one ann2snn inference.

- ``LifFcMnistTrainStep.time_train_step``: one batch of the ``lif_fc_mnist`` example
  (``jelly.examples.lif_fc_mnist.LIFNet``: Flatten → Linear(784, 10, bias=False) → LIF(tau=2,
  ATan), multi-step): Poisson-encode 64 images into ``T`` steps, forward, MSE between firing
  rates and one-hot labels, backward, Adam step, ``reset_net``. The images are synthetic
  (seeded; 20 % of the pixels lit, like MNIST), so the timing needs no data set; seconds
  per epoch are this times 938.
- ``Ann2SnnSimulate.time_simulate``: ``jelly.ann2snn.simulate`` of the converted MNIST CNN of
  ``jelly.examples.ann2snn_cnn_mnist`` (random weights, calibrated on random images) on a
  batch of 64 images for ``T`` steps.
"""

from __future__ import annotations

import functools

import torch

from ._common import (
    cnn_example_attr,
    device_of,
    optional_import,
    preimport,
    public_attr,
    set_threads,
    skip,
    synchronize,
)

preimport("jelly.examples.lif_fc_mnist", "jelly.encoders", "jelly.core.functional", "jelly.ann2snn")

BATCH = 64


def _mnist_like_batch(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    img = torch.rand(BATCH, 1, 28, 28, generator=generator)
    img = img * (torch.rand(BATCH, 1, 28, 28, generator=generator) < 0.2)
    label = torch.randint(0, 10, (BATCH,), generator=generator)
    return img.to(device), label.to(device)


class LifFcMnistTrainStep:
    """One training batch of the ``lif_fc_mnist`` example."""

    params = ((8, 32, 100), ("cpu", "cuda"))
    param_names = ("T", "device")
    timeout = 120
    repeat = (2, 10, 1.0)
    warmup_time = 0.1

    def setup(self, T, device_name):
        set_threads()
        self.device = device_of(device_name)
        example = optional_import("jelly.examples.lif_fc_mnist")
        net_cls = getattr(example, "LIFNet", None)
        if net_cls is None:
            skip("jelly.examples.lif_fc_mnist.LIFNet does not exist at this commit")
        encoders = optional_import("jelly.encoders")
        self.functional = optional_import("jelly.core.functional")
        torch.manual_seed(0)
        self.net = net_cls(784, 2.0).to(self.device)
        self.encoder = encoders.PoissonEncoder()
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.img, label = _mnist_like_batch(self.device)
        self.target = torch.nn.functional.one_hot(label, 10).float()
        self.T = T

    def time_train_step(self, T, device_name):
        out_fr = self.net(self.encoder.encode(self.img, self.T)).mean(0)
        loss = torch.nn.functional.mse_loss(out_fr, self.target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.functional.reset_net(self.net)
        synchronize(self.device)


@functools.lru_cache(maxsize=2)
def _converted_cnn(device_name: str):
    """The example's CNN, converted with the ``'99.9%'`` mode on random images (cached)."""
    build = cnn_example_attr("mnist_cnn")
    converter_cls = public_attr("jelly.ann2snn", "Converter")
    torch.manual_seed(0)
    ann = build().to(device_name).eval()
    generator = torch.Generator().manual_seed(1)
    calib = [(torch.rand(32, 1, 28, 28, generator=generator).to(device_name), torch.zeros(32, dtype=torch.long))
             for _ in range(4)]
    return converter_cls(calib, mode="99.9%", progress=False, device=device_name)(ann)


class Ann2SnnSimulate:
    """Inference of the converted MNIST CNN for ``T`` steps."""

    params = ((16, 64), ("cpu", "cuda"))
    param_names = ("T", "device")
    timeout = 300
    repeat = (2, 6, 2.0)
    warmup_time = 0.0

    def setup(self, T, device_name):
        set_threads()
        self.device = device_of(device_name)
        self.simulate = public_attr("jelly.ann2snn", "simulate")
        self.snn = _converted_cnn(str(self.device))
        self.x, _ = _mnist_like_batch(self.device)

    def time_simulate(self, T, device_name):
        self.simulate(self.snn, self.x, T, chunk_size=16)
        synchronize(self.device)
