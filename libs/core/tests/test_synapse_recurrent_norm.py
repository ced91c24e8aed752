"""SynapseFilter, recurrent containers and temporal batch norms against independent computations."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from jelly.core import functional, layers
from jelly.core.base import MemoryModule, StateShapeError, StepModeError

torch.set_num_threads(1)


# -- SynapseFilter ------------------------------------------------------------------------------


@pytest.mark.parametrize("learnable", [False, True])
def test_synapse_single_step_loop_equals_multi_step(learnable):
    torch.manual_seed(0)
    x = torch.rand(7, 3, 4, dtype=torch.float64, requires_grad=True)
    s = layers.SynapseFilter(tau=4.0, learnable=learnable).double()
    m = layers.SynapseFilter(tau=4.0, learnable=learnable, step_mode="m").double()
    out_s = torch.stack([s(x_t) for x_t in x.unbind(0)])
    out_m = m(x)
    torch.testing.assert_close(out_s, out_m, rtol=0, atol=0)
    torch.testing.assert_close(s.out_i, m.out_i, rtol=0, atol=0)
    if learnable:
        g_s = torch.autograd.grad(out_s.square().sum(), (x, s.w))
        g_m = torch.autograd.grad(out_m.square().sum(), (x, m.w))
        for a, b in zip(g_s, g_m):
            torch.testing.assert_close(a, b)
        assert g_m[1].abs() > 0


def test_synapse_matches_closed_form_exponential_filter():
    torch.manual_seed(1)
    tau = 5.0
    decay = 1.0 - 1.0 / tau
    # a single spike at t = 0 decays as (1 - 1/tau)^t
    pulse = torch.zeros(10, 1, dtype=torch.float64)
    pulse[0] = 1.0
    out = layers.SynapseFilter(tau=tau, step_mode="m")(pulse)[:, 0]
    torch.testing.assert_close(out, torch.tensor([decay**t for t in range(10)], dtype=torch.float64))

    # random binary spike trains: I[t] = sum over spikes s <= t of decay^(spike-free steps in (s, t])
    spikes = (torch.rand(12, 2, 3) < 0.3).double()
    out = layers.SynapseFilter(tau=tau, step_mode="m")(spikes)
    expected = torch.zeros_like(spikes)
    T = spikes.shape[0]
    for idx in torch.cartesian_prod(torch.arange(2), torch.arange(3)):
        n, c = idx.tolist()
        train = spikes[:, n, c].tolist()
        for t in range(T):
            total = 0.0
            for s in range(t + 1):
                if train[s] == 1.0:
                    quiet = sum(1 for u in range(s + 1, t + 1) if train[u] == 0.0)
                    total += decay**quiet
            expected[t, n, c] = total
    torch.testing.assert_close(out, expected)
    assert spikes.sum() > 0


def test_synapse_real_inputs_follow_documented_update_and_learnable_tau():
    torch.manual_seed(2)
    x = torch.randn(6, 4, dtype=torch.float64)
    syn = layers.SynapseFilter(tau=3.0, learnable=True, step_mode="m").double()
    assert syn.w.item() == pytest.approx(-math.log(2.0))
    assert torch.sigmoid(syn.w).item() == pytest.approx(1 / 3)
    i_prev, expected = torch.zeros(4, dtype=torch.float64), []
    for t in range(6):
        i_prev = i_prev - (1 - x[t]) * i_prev / 3.0 + x[t]
        expected.append(i_prev)
    torch.testing.assert_close(syn(x), torch.stack(expected))
    functional.reset_net(syn)

    def run(x_, w_):
        functional.reset_net(syn)
        return torch.func.functional_call(syn, {"w": w_}, (x_,))

    w0 = syn.w.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(run, (x.clone().requires_grad_(True), w0))


def test_synapse_state_reset_and_shape_errors():
    syn = layers.SynapseFilter(tau=2.0, step_mode="m")
    x = torch.rand(5, 2, 3)
    first = syn(x)
    # calling again continues from the stored current; one call on the concatenation is the same
    second = syn(x)
    functional.reset_net(syn)
    assert syn.out_i == 0.0
    both = syn(torch.cat([x, x]))
    torch.testing.assert_close(torch.cat([first, second]), both)
    with pytest.raises(StateShapeError, match="reset_net"):
        syn(torch.rand(5, 4, 3))
    functional.reset_net(syn)
    assert syn(torch.rand(5, 4, 3)).shape == (5, 4, 3)
    with pytest.raises(StepModeError):
        syn(torch.rand(3))
    with pytest.raises(TypeError, match="floating-point"):
        syn(torch.ones(2, 2, dtype=torch.int32))
    for bad in (1.0, 0.5, -2.0, float("inf")):
        with pytest.raises(ValueError, match="tau > 1"):
            layers.SynapseFilter(tau=bad)
    single = layers.SynapseFilter(tau=2.0)
    single(torch.rand(2, 3))
    with pytest.raises(StateShapeError):
        single(torch.rand(3, 3))


# -- recurrent containers -----------------------------------------------------------------------


class _HardResetIF(MemoryModule):
    """A minimal single-step IF neuron for the tests (jelly-core does not depend on neurons)."""

    def __init__(self) -> None:
        super().__init__("s")
        self.register_memory("v", 0.0)

    def single_step_forward(self, x):
        v = self.v + x
        spike = (v >= 1.0).to(x.dtype)
        self.v = v * (1 - spike)
        return spike


class _Recorder(nn.Module):
    """Identity that records its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return x


def test_elementwise_feedback_uses_previous_output():
    torch.manual_seed(3)
    rec = _Recorder()
    rnn = layers.ElementWiseRecurrentContainer(rec, lambda y, x: x + 0.5 * y, step_mode="m")
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    y = rnn(x)
    y_prev = torch.zeros(2, 3, dtype=torch.float64)
    for t in range(5):
        expected_in = x[t] + 0.5 * y_prev  # i[t] = f(y[t-1], x[t]) with y[-1] = 0
        torch.testing.assert_close(rec.seen[t], expected_in)
        torch.testing.assert_close(y[t], expected_in)
        y_prev = expected_in


def test_elementwise_with_neuron_single_equals_multi_and_reset():
    torch.manual_seed(4)
    x = torch.rand(8, 3, 4) * 0.8
    s = layers.ElementWiseRecurrentContainer(_HardResetIF(), lambda y, x: x + y)
    m = layers.ElementWiseRecurrentContainer(_HardResetIF(), lambda y, x: x + y, step_mode="m")
    out_s = torch.stack([s(x_t) for x_t in x])
    out_m = m(x)
    assert torch.equal(out_s, out_m)
    # independent: IF fed with x[t] + s[t-1]
    v, spk, expected = torch.zeros(3, 4), torch.zeros(3, 4), []
    for t in range(8):
        v = v + x[t] + spk
        spk = (v >= 1).float()
        v = v * (1 - spk)
        expected.append(spk)
    assert torch.equal(out_m, torch.stack(expected)) and out_m.sum() > 0
    # reset_net clears the container's y and the neuron's v: a second run repeats the first
    functional.reset_net(m)
    assert m.y is None and m.sub_module.v == 0.0
    assert torch.equal(m(x), out_m)
    with pytest.raises(StateShapeError, match="reset_net"):
        m(torch.rand(8, 2, 4))


def test_recurrent_containers_keep_children_single_step():
    neuron = _HardResetIF()
    rnn = layers.ElementWiseRecurrentContainer(neuron, lambda y, x: x + y)
    functional.set_step_mode(rnn, "m")
    assert rnn.step_mode == "m" and neuron.step_mode == "s"
    neuron.step_mode = "m"
    with pytest.raises(ValueError, match="step_mode='s'"):
        rnn(torch.rand(3, 2))
    with pytest.raises(ValueError, match="step_mode='s'"):
        layers.LinearRecurrentContainer(nn.Sequential(layers.Linear(2, 2, step_mode="m")), 2, 2)
    with pytest.raises(TypeError, match="callable"):
        layers.ElementWiseRecurrentContainer(nn.Identity(), 3.0)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_recurrent_equals_independent_computation(bias):
    torch.manual_seed(5)
    in_f, out_f = 3, 2
    sub = nn.Sequential(nn.Linear(in_f, out_f), nn.Tanh())
    rnn = layers.LinearRecurrentContainer(sub, in_f, out_f, bias=bias, step_mode="m").double()
    assert rnn.rc.weight.shape == (in_f, in_f + out_f)
    x = torch.randn(6, 4, 5, in_f, dtype=torch.float64)  # [T, N, *, in_features]
    y = rnn(x)
    assert y.shape == (6, 4, 5, out_f)
    W = rnn.rc.weight.detach()
    b = rnn.rc.bias.detach() if bias else torch.zeros(in_f, dtype=torch.float64)
    L1, L2 = sub[0].weight.detach(), sub[0].bias.detach()
    y_prev, expected = torch.zeros(4, 5, out_f, dtype=torch.float64), []
    for t in range(6):
        i_t = x[t] @ W[:, :in_f].T + y_prev @ W[:, in_f:].T + b
        y_prev = torch.tanh(i_t @ L1.T + L2)
        expected.append(y_prev)
    torch.testing.assert_close(y, torch.stack(expected))

    # single-step loop == multi-step, and the feedback weights get gradients
    single = layers.LinearRecurrentContainer(sub, in_f, out_f, bias=bias).double()
    single.load_state_dict(rnn.state_dict())
    torch.testing.assert_close(torch.stack([single(x_t) for x_t in x]), y)
    functional.reset_net(rnn)
    rnn(x).sum().backward()
    assert rnn.rc.weight.grad[:, in_f:].abs().sum() > 0


def test_linear_recurrent_with_neuron_and_errors():
    torch.manual_seed(6)
    sub = nn.Sequential(nn.Linear(4, 3), _HardResetIF())
    s = layers.LinearRecurrentContainer(sub, 4, 3)
    x = torch.rand(6, 2, 4)
    out_s = torch.stack([s(x_t) for x_t in x])
    functional.reset_net(s)
    s.step_mode = "m"
    assert torch.equal(s(x), out_s)
    with pytest.raises(StateShapeError, match="reset_net"):
        s(torch.rand(6, 5, 4))
    functional.reset_net(s)
    with pytest.raises(ValueError, match=r"\[N, \*, 4\]"):
        s(torch.rand(6, 2, 5))
    bad = layers.LinearRecurrentContainer(nn.Linear(4, 2), 4, 3, step_mode="m")
    with pytest.raises(ValueError, match="fed-back output"):
        bad(x)
    with pytest.raises(ValueError, match="in_features"):
        layers.LinearRecurrentContainer(nn.Identity(), 0, 3)


# -- temporal batch norms -----------------------------------------------------------------------


def _manual_bn(x_seq, mean, var, weight, bias, eps):
    shape = (1, 1, -1) + (1,) * (x_seq.dim() - 3)
    normalised = (x_seq - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    return normalised * weight.view(shape) + bias.view(shape)


def _stats(x_seq):
    dims = [0, 1] + list(range(3, x_seq.dim()))
    return x_seq.mean(dims), x_seq.var(dims, unbiased=False), x_seq.var(dims, unbiased=True)


def test_tdbn_train_and_eval_equal_independent_computation():
    torch.manual_seed(7)
    alpha, v_th, C = 0.7, 0.5, 3
    bn = layers.ThresholdDependentBatchNorm2d(alpha, v_th, C, momentum=0.2).double()
    torch.testing.assert_close(bn.weight.detach(), torch.full((C,), alpha * v_th, dtype=torch.float64))
    assert torch.all(bn.bias == 0)
    # a time-dependent offset: statistics over T*N keep it, per-step statistics would remove it
    x = torch.randn(4, 3, C, 2, 2, dtype=torch.float64) + torch.arange(4.0).view(4, 1, 1, 1, 1)
    y = bn(x)
    mean, var_b, var_u = _stats(x)
    torch.testing.assert_close(y, _manual_bn(x, mean, var_b, bn.weight.detach(), bn.bias.detach(), 1e-5))
    assert y.shape == x.shape
    torch.testing.assert_close(bn.running_mean, 0.2 * mean)
    torch.testing.assert_close(bn.running_var, 0.8 + 0.2 * var_u)
    bn.eval()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    x2 = torch.randn(4, 2, C, 2, 2, dtype=torch.float64)
    torch.testing.assert_close(
        bn(x2), _manual_bn(x2, bn.running_mean, bn.running_var, bn.weight.detach(), bn.bias.detach(), 1e-5)
    )


def test_tebn_train_and_eval_equal_independent_computation():
    torch.manual_seed(8)
    T, C = 4, 3
    bn = layers.TemporalEffectiveBatchNorm2d(T, C).double()
    assert bn.scale.shape == (T,) and torch.all(bn.scale == 1)
    with torch.no_grad():
        bn.scale.copy_(torch.tensor([0.5, 1.0, 2.0, -1.0]))
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    x = torch.randn(T, 3, C, 2, 3, dtype=torch.float64) * 2 + torch.arange(4.0).view(T, 1, 1, 1, 1)
    y = bn(x)
    mean, var_b, var_u = _stats(x)
    scale = bn.scale.detach().view(T, 1, 1, 1, 1)
    w, b = bn.weight.detach(), bn.bias.detach()
    torch.testing.assert_close(y, scale * _manual_bn(x, mean, var_b, w, b, 1e-5))
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * var_u)
    y.square().sum().backward()
    assert bn.scale.grad.abs().sum() > 0 and bn.weight.grad.abs().sum() > 0
    bn.eval()
    x2 = torch.randn(T, 2, C, 2, 3, dtype=torch.float64)
    expected = scale * _manual_bn(x2, bn.running_mean, bn.running_var, w, b, 1e-5)
    torch.testing.assert_close(bn(x2), expected)


def test_temporal_norm_variants_shapes_and_errors():
    x1 = torch.randn(3, 2, 4)
    assert layers.ThresholdDependentBatchNorm1d(1.0, 1.0, 4)(x1).shape == x1.shape
    assert layers.TemporalEffectiveBatchNorm1d(3, 4)(torch.randn(3, 2, 4, 5)).shape == (3, 2, 4, 5)
    x3 = torch.randn(2, 2, 4, 2, 2, 2)
    assert layers.ThresholdDependentBatchNorm3d(1.0, 1.0, 4)(x3).shape == x3.shape
    td = layers.ThresholdDependentBatchNorm2d(1.0, 1.0, 4)
    te = layers.TemporalEffectiveBatchNorm2d(3, 4)
    for bn in (td, te):
        assert bn.step_mode == "m" and bn.supported_step_mode() == ("m",)
        with pytest.raises(StepModeError, match=r"\[T, N, C, H, W\]"):
            bn(torch.randn(6, 4, 2, 2))  # a single step [N, C, H, W] is refused
        with pytest.raises(StepModeError):
            bn(torch.randn(3, 2, 4, 2, 2, 2))
        with pytest.raises(ValueError, match="num_features=4"):
            bn(torch.randn(3, 2, 5, 2, 2))
    with pytest.raises(StepModeError, match="T=3"):
        te(torch.randn(4, 2, 4, 2, 2))
    with pytest.raises(ValueError, match="affine=True"):
        layers.ThresholdDependentBatchNorm2d(1.0, 1.0, 4, affine=False)
    with pytest.raises(ValueError, match="multi-step mode only"):
        layers.TemporalEffectiveBatchNorm2d(3, 4, step_mode="s")
    with pytest.raises(ValueError, match="alpha > 0"):
        layers.ThresholdDependentBatchNorm2d(0.0, 1.0, 4)
    net = nn.Sequential(layers.Conv2d(1, 4, 3, padding=1, step_mode="m"), td)
    functional.set_step_mode(net, "m")
    with pytest.raises(ValueError):
        functional.set_step_mode(net, "s")
