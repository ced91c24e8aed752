"""Runnable Jelly trainings. Run one with ``python -m jelly.examples.<name> --help``.

* :mod:`jelly.examples.lif_fc_mnist`: a one-layer LIF network on MNIST (or the embedded
  8x8 digits when no data directory is given), Poisson-encoded input.
"""

from ._version import __version__

__all__ = ["__version__"]
