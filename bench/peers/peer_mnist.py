"""One ``lif_fc_mnist`` training batch: Jelly, SpikingJelly (tutorial loop and multi-step),
snnTorch and Norse.

The network of the example: Flatten → Linear(784, 10, bias=False) → LIF (tau = 2, threshold 1,
hard reset to 0, ATan where the peer has it), the MSE between the output firing rate over
``T`` steps and the one-hot label, Adam(lr = 1e-3), batch 64. Every implementation starts
from the same weights and gets the same Poisson spike train ``[T, 64, 1, 28, 28]`` (drawn
once, outside the timing: encoding is not part of the comparison, although Jelly's one-draw
encoder is faster than a per-step loop).

- Jelly: ``jelly.examples.lif_fc_mnist.LIFNet`` (multi-step: one matmul for all steps).
- SpikingJelly (tutorial): the single-step loop of its first tutorial.
- SpikingJelly (multi-step): the same layers in ``step_mode='m'``.
- snnTorch: ``nn.Linear`` + ``Leaky(beta=0.5, reset_mechanism='zero', reset_delay=False)``
  on half the current, in a Python loop over time (the same update as ours, see ``peer_lif``).
- Norse: ``nn.Linear`` + ``LIFBoxCell(dt=1, tau_mem_inv=0.5)`` in a loop; SuperSpike surrogate.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

Step = Callable[[torch.Tensor, torch.Tensor], tuple[float, torch.Tensor]]


def _adam(params) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=1e-3)


def _train(forward: Callable[[torch.Tensor], torch.Tensor], optimizer, after: Callable[[], None]) -> Step:
    def step(x_seq: torch.Tensor, target: torch.Tensor) -> tuple[float, torch.Tensor]:
        out_fr = forward(x_seq)
        loss = F.mse_loss(out_fr, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        after()
        return loss.item(), out_fr.detach()

    return step


def jelly_step(weight: torch.Tensor) -> tuple[Step, Callable[[], torch.Tensor]]:
    from jelly.core import functional
    from jelly.examples.lif_fc_mnist import LIFNet

    net = LIFNet(784, 2.0)
    with torch.no_grad():
        net.layer[1].weight.copy_(weight)
    step = _train(lambda x: net(x).mean(0), _adam(net.parameters()), lambda: functional.reset_net(net))
    return step, lambda: net.layer[1].weight


def _spikingjelly_net(weight: torch.Tensor, step_mode: str):
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    net = nn.Sequential(layer.Flatten(), layer.Linear(784, 10, bias=False),
                        neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()))
    functional.set_step_mode(net, step_mode)
    with torch.no_grad():
        net[1].weight.copy_(weight)
    return net, functional


def spikingjelly_tutorial_step(weight: torch.Tensor) -> tuple[Step, Callable[[], torch.Tensor]]:
    net, functional = _spikingjelly_net(weight, "s")

    def forward(x_seq):
        out = 0.0
        for t in range(x_seq.shape[0]):
            out = out + net(x_seq[t])
        return out / x_seq.shape[0]

    return _train(forward, _adam(net.parameters()), lambda: functional.reset_net(net)), lambda: net[1].weight


def spikingjelly_multistep_step(weight: torch.Tensor) -> tuple[Step, Callable[[], torch.Tensor]]:
    net, functional = _spikingjelly_net(weight, "m")
    return (_train(lambda x: net(x).mean(0), _adam(net.parameters()), lambda: functional.reset_net(net)),
            lambda: net[1].weight)


def snntorch_step(weight: torch.Tensor) -> tuple[Step, Callable[[], torch.Tensor]]:
    import snntorch
    from snntorch import surrogate

    fc = nn.Linear(784, 10, bias=False)
    with torch.no_grad():
        fc.weight.copy_(weight)
    lif = snntorch.Leaky(beta=0.5, threshold=1.0, spike_grad=surrogate.atan(alpha=2.0), reset_mechanism="zero",
                         reset_delay=False)

    def forward(x_seq):
        mem = torch.zeros(x_seq.shape[1], 10)
        out = 0.0
        for t in range(x_seq.shape[0]):
            spk, mem = lif(fc(x_seq[t].flatten(1)) * 0.5, mem)
            out = out + spk
        return out / x_seq.shape[0]

    return _train(forward, _adam(fc.parameters()), lambda: None), lambda: fc.weight


def norse_step(weight: torch.Tensor) -> tuple[Step, Callable[[], torch.Tensor]]:
    from norse.torch import LIFBoxCell, LIFBoxParameters

    fc = nn.Linear(784, 10, bias=False)
    with torch.no_grad():
        fc.weight.copy_(weight)
    cell = LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.as_tensor(0.5), v_leak=torch.as_tensor(0.0),
                                       v_th=torch.as_tensor(1.0), v_reset=torch.as_tensor(0.0), method="super"),
                      dt=1.0)

    def forward(x_seq):
        state = None
        out = 0.0
        for t in range(x_seq.shape[0]):
            z, state = cell(fc(x_seq[t].flatten(1)), state)
            out = out + z
        return out / x_seq.shape[0]

    return _train(forward, _adam(fc.parameters()), lambda: None), lambda: fc.weight


BUILDERS = {
    "jelly": jelly_step,
    "spikingjelly (tutorial loop)": spikingjelly_tutorial_step,
    "spikingjelly (multi-step)": spikingjelly_multistep_step,
    "snntorch": snntorch_step,
    "norse": norse_step,
}
SAME_SURROGATE = {"jelly", "spikingjelly (tutorial loop)", "spikingjelly (multi-step)", "snntorch"}


def mnist_batch(T: int, data_dir: str | None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, str]:
    """A Poisson spike train of 64 images ``[T, 64, 1, 28, 28]`` and one-hot targets.

    Real MNIST when ``data_dir`` is given (the first 64 training images), else synthetic
    images with 20 % of the pixels lit.
    """
    generator = torch.Generator().manual_seed(seed)
    if data_dir is not None:
        from jelly.examples.image_data import load_mnist

        train, _, name = load_mnist(data_dir)
        img, label = train.images[:64], train.labels[:64]
    else:
        img = torch.rand(64, 1, 28, 28, generator=generator)
        img = img * (torch.rand(64, 1, 28, 28, generator=generator) < 0.2)
        label, name = torch.randint(0, 10, (64,), generator=generator), "synthetic images"
    x_seq = (torch.rand(T, *img.shape, generator=generator) < img).float()
    return x_seq, F.one_hot(label, 10).float(), name


def _check(x_seq: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, names: list[str]) -> list[str]:
    """One training step of every implementation from the same weights, compared with ours.

    The example's initial weights are too small for the 10 output neurons to fire in the
    first steps, which would make equal outputs trivial; the check therefore starts from the
    weights times 20 (many outputs fire) on fresh copies of each implementation.
    """
    results = {}
    for name in names:
        step, weights = BUILDERS[name](weight * 20)
        loss, out_fr = step(x_seq, target)
        results[name] = (loss, out_fr, weights().detach())
    loss0, fr0, w0 = results["jelly"]
    notes = [f"check from weights x 20: our mean output firing rate {fr0.mean().item():.3f}, loss {loss0:.5f}"]
    for name, (loss, fr, w) in results.items():
        if name == "jelly":
            continue
        line = (f"{name}: {int((fr != fr0).sum())} of {fr0.numel()} output firing rates differ, "
                f"loss {loss:.5f}; weights after one Adam step: max |diff| {(w - w0).abs().max().item():.1e}")
        if name not in SAME_SURROGATE:
            line += " (SuperSpike surrogate: gradients differ by design)"
        notes.append(line)
    return notes


def setup(T: int, data_dir: str | None) -> tuple[dict[str, Callable[[], object]], dict[str, str], list[str], str]:
    """The implementations' training steps on one batch, the missing ones, the checks, the data name."""
    x_seq, target, data_name = mnist_batch(T, data_dir)
    weight = nn.Linear(784, 10, bias=False).weight.detach().clone()  # seeded by the caller
    steps, weights, missing = {}, {}, {}
    for name, build in BUILDERS.items():
        try:
            steps[name], weights[name] = build(weight)
        except ImportError as exc:
            missing[name] = f"not installed ({exc.name or exc})"
    notes = _check(x_seq, target, weight, list(steps))
    calls = {name: (lambda s=step: s(x_seq, target)) for name, step in steps.items()}
    return calls, missing, notes, data_name
