"""Multi-step LIF forward and forward+backward on CPU: Jelly, SpikingJelly, snnTorch, Norse.

The same neuron everywhere: tau = 2 (decay 1/2 per step, input decayed too), threshold 1,
hard reset to 0, ATan surrogate (alpha = 2) where the peer has it, zero initial membrane:

    H[t] = V[t-1] + (X[t] - V[t-1]) / 2,   S[t] = H[t] >= 1,   V[t] = H[t] (1 - S[t])

- Jelly: ``neurons.LIFNode(tau=2, surrogate_function=ATan(), step_mode='m')`` (backend 'auto').
- SpikingJelly 2.0: ``neuron.LIFNode(tau=2, surrogate_function=ATan(), step_mode='m')``.
- snnTorch: ``Leaky(beta=0.5, reset_mechanism='zero', reset_delay=False, spike_grad=atan())``
  stepped in a Python loop (its idiom) on ``X / 2``: ``U = 0.5 U + X / 2`` is the same update.
- Norse: ``LIFBoxCell`` (the LIF without a current term) with ``dt = 1``,
  ``tau_mem_inv = 0.5``, stepped in a Python loop (what ``norse.torch.SNN`` does inside).
  Its surrogate is SuperSpike (``method='super'``, alpha 100): no ATan, so gradients differ
  from ours by design; spikes must still agree.

snnTorch and Norse fire on ``U > 1``, we on ``H >= 1``; the update is also written with
other float operations. Both only matter for a membrane exactly at the threshold, which the
check below counts (the report gives the number of differing spikes).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Impl = Callable[[torch.Tensor], torch.Tensor]


def jelly_lif() -> Impl:
    from jelly import neurons, surrogates

    node = neurons.LIFNode(tau=2.0, surrogate_function=surrogates.ATan(), step_mode="m")

    def run(x: torch.Tensor) -> torch.Tensor:
        out = node(x)
        node.reset()
        return out

    return run


def spikingjelly_lif() -> Impl:
    from spikingjelly.activation_based import functional, neuron, surrogate

    node = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m")

    def run(x: torch.Tensor) -> torch.Tensor:
        out = node(x)
        functional.reset_net(node)
        return out

    return run


def snntorch_lif() -> Impl:
    import snntorch
    from snntorch import surrogate

    lif = snntorch.Leaky(beta=0.5, threshold=1.0, spike_grad=surrogate.atan(alpha=2.0), reset_mechanism="zero",
                         reset_delay=False)

    def run(x: torch.Tensor) -> torch.Tensor:
        mem = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            spk, mem = lif(x[t] * 0.5, mem)
            spikes.append(spk)
        return torch.stack(spikes)

    return run


def norse_lif() -> Impl:
    from norse.torch import LIFBoxCell, LIFBoxParameters

    params = LIFBoxParameters(tau_mem_inv=torch.as_tensor(0.5), v_leak=torch.as_tensor(0.0),
                              v_th=torch.as_tensor(1.0), v_reset=torch.as_tensor(0.0), method="super")
    cell = LIFBoxCell(params, dt=1.0)

    def run(x: torch.Tensor) -> torch.Tensor:
        state = None
        spikes = []
        for t in range(x.shape[0]):
            z, state = cell(x[t], state)
            spikes.append(z)
        return torch.stack(spikes)

    return run


def jelly_backend(x: torch.Tensor) -> str:
    """The implementation Jelly's ``backend='auto'`` picks for ``x`` (``neurons.describe``)."""
    from jelly import neurons, surrogates

    node = neurons.LIFNode(tau=2.0, surrogate_function=surrogates.ATan(), step_mode="m")
    return neurons.describe(node, x).backend


BUILDERS: dict[str, Callable[[], Impl]] = {
    "jelly": jelly_lif,
    "spikingjelly": spikingjelly_lif,
    "snntorch": snntorch_lif,
    "norse": norse_lif,
}
SAME_SURROGATE = {"jelly", "spikingjelly", "snntorch"}


def available() -> tuple[dict[str, Impl], dict[str, str]]:
    """The implementations that import here, and why the others were left out."""
    impls, missing = {}, {}
    for name, build in BUILDERS.items():
        try:
            impls[name] = build()
        except ImportError as exc:
            missing[name] = f"not installed ({exc.name or exc})"
    return impls, missing


def check(impls: dict[str, Impl], x: torch.Tensor, g: torch.Tensor) -> list[str]:
    """Compare every peer's spikes (and input gradients, for the same surrogate) with ours."""
    notes = []
    xs = {}
    outs = {}
    for name, run in impls.items():
        xs[name] = x.detach().clone().requires_grad_()
        outs[name] = run(xs[name])
        (outs[name] * g).sum().backward()
    ours = outs["jelly"].detach()
    for name in impls:
        if name == "jelly":
            continue
        differ = int((outs[name].detach() != ours).sum())
        line = f"{name}: {differ} of {ours.numel()} spikes differ from ours"
        if name in SAME_SURROGATE:
            diff = (xs[name].grad - xs["jelly"].grad).abs().max().item()
            scale = xs["jelly"].grad.abs().max().item()
            line += f"; input gradients: max |diff| {diff:.2e} (max |grad| {scale:.2e})"
        else:
            line += "; gradients not compared (SuperSpike surrogate, not ATan)"
        notes.append(line)
    return notes


def workloads(impls: dict[str, Impl], x: torch.Tensor, g: torch.Tensor) -> dict[str, dict[str, Callable[[], object]]]:
    """``{workload name: {impl: zero-argument callable}}`` for forward and forward+backward."""
    T, N = x.shape[0], x[0].numel()
    x_grad = x.detach().requires_grad_()

    def forward(run: Impl) -> Callable[[], object]:
        def call():
            with torch.no_grad():
                return run(x)

        return call

    def forward_backward(run: Impl) -> Callable[[], object]:
        def call():
            return torch.autograd.grad(run(x_grad), x_grad, g)

        return call

    return {
        f"LIF fwd T={T} N={N}": {k: forward(v) for k, v in impls.items()},
        f"LIF fwd+bwd T={T} N={N}": {k: forward_backward(v) for k, v in impls.items()},
    }
