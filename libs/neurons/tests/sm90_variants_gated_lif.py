"""GLIF kernel variants for ``triton_sm90_compile.py`` (compiled for sm_90 without a GPU).

The forward must hold no fused multiply-add and no floating-point division in any I/O dtype
(the reference divides by nothing, and the float32 results must match PyTorch bit for bit);
tiles cover one channel per program (``BLOCK_C = 1``) and channels interleaved along a row.
"""

from __future__ import annotations

from jelly.neurons.backends.triton import gated_lif_kernels as glif
from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

#: Pointers that are float32 whatever the I/O dtype (gates, conductances, guard, partial sums).
FLOAT32_POINTERS = frozenset({"gates_ptr", "conduct_ptr", "below_ptr", "sums_ptr", "conduct_sums_ptr"})

#: (BLOCK_S, BLOCK_C) as ``gated_lif_ops.tile_shape`` picks them on CUDA: a convolution with
#: 7x7 maps, a linear layer of 512 channels, 10 channels of 2x2 maps.
_TILES = ((1024, 1), (32, 32), (128, 8))


def variants(quick: bool):
    """``(label, kernel, io dtype, constexprs, forbidden PTX op prefixes, float32 pointers)``."""
    ios = ("float32", "float16", "bfloat16")
    for index, io in enumerate(ios):
        for block_s, block_c in (_TILES[index],) if quick else _TILES:
            constants = {"GUARD": io != "float32", "BLOCK_S": block_s, "BLOCK_C": block_c}
            yield (f"glif_fwd/{io}/tile{block_s}x{block_c}", glif.gated_lif_forward_kernel, io, constants,
                   ("fma", "div"), FLOAT32_POINTERS)
    backward = (("ATan", 0, "float32", _TILES[0]), ("Sigmoid", 0, "bfloat16", _TILES[1]),
                ("SquarewaveFourierSeries", 4, "float16", _TILES[2]))
    if not quick:
        backward += tuple((name, 3 if name == "SquarewaveFourierSeries" else 0, "float32", _TILES[1])
                          for name in TRITON_DERIVATIVES)
    for name, order, io, (block_s, block_c) in backward:
        constants = {"SG_FN": TRITON_DERIVATIVES[name], "SG_ORDER": order, "BLOCK_S": block_s, "BLOCK_C": block_c}
        yield (f"glif_bwd/{io}/{name}/tile{block_s}x{block_c}", glif.gated_lif_backward_kernel, io, constants, (),
               FLOAT32_POINTERS)
