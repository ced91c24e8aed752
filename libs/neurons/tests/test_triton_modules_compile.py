"""Every neuron module with ``backend='triton'`` traces into one graph under ``torch.compile``.

Runs the kernels in Triton's CPU interpreter (see :mod:`jelly.neurons.backends.triton.interpreter`);
``fullgraph=True`` fails on any graph break, e.g. a lazy loader that Dynamo cannot trace.
The compiled module must give the eager module's outputs and input gradients.
"""

import pytest
import torch

from jelly import neurons, surrogates
from jelly.neurons.backends.triton.interpreter import load_interpreted

_WHY_NOT = load_interpreted()
if _WHY_NOT is not None:
    pytest.skip(_WHY_NOT, allow_module_level=True)
torch.set_num_threads(1)

T, N, C = 4, 2, 3
SG = surrogates.ATan()
MODULES = {
    "LIF": lambda: neurons.LIFNode(tau=2.0, surrogate_function=SG),
    "QIF": lambda: neurons.QIFNode(surrogate_function=SG),
    "KLIF": lambda: neurons.KLIFNode(surrogate_function=SG),
    "LIAF": lambda: neurons.LIAFNode(act=torch.relu, threshold_related=True, surrogate_function=SG),
    "CUBA-LIF": lambda: neurons.CUBALIFNode(surrogate_function=SG),
    "CLIF": lambda: neurons.ComplementaryLIFNode(surrogate_function=SG),
    "Izhikevich": lambda: neurons.IzhikevichNode(a=0.5, b=0.2, surrogate_function=SG),
    "GatedLIF": lambda: neurons.GatedLIFNode(T=T, inplane=C, surrogate_function=SG),
}


@pytest.fixture(autouse=True)
def interpreter(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(MODULES))
def test_module_compiles_to_one_graph_and_matches_eager(name):
    torch.manual_seed(0)
    module = MODULES[name]()
    module.step_mode = "m"
    module.backend = "triton"
    x = torch.randn(T, N, C, 5) * 1.5 + 0.5

    def run(fn):
        from jelly.core.functional import reset_net

        reset_net(module)
        inp = x.clone().requires_grad_()
        out = fn(inp)
        (grad,) = torch.autograd.grad(out.sum(), inp)
        return out.detach(), grad

    torch._dynamo.reset()
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
    out_c, grad_c = run(compiled)
    out_e, grad_e = run(module)
    assert torch.equal(out_c, out_e)
    torch.testing.assert_close(grad_c, grad_e, rtol=1e-5, atol=1e-6)
