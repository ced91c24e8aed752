"""The Triton entry points of the neuron zoo in one module (imported on the first zoo call).

:mod:`jelly.neurons.backends.triton` registers lazy wrappers that run ``from . import
zoo_ops`` when first called: an import statement, which ``torch.compile`` traces (it
imports at trace time), where ``importlib.import_module`` would break the graph.
"""

from .cuba_clif_ops import clif_multistep_triton, cuba_lif_multistep_triton
from .gated_lif_ops import gated_lif_multistep_triton
from .izhikevich_ops import izhikevich_multistep_triton
from .klif_ops import klif_multistep_triton
from .liaf_ops import liaf_multistep_triton

__all__ = [
    "clif_multistep_triton",
    "cuba_lif_multistep_triton",
    "gated_lif_multistep_triton",
    "izhikevich_multistep_triton",
    "klif_multistep_triton",
    "liaf_multistep_triton",
]
