"""Train the seed's CNN on MNIST, convert it to an SNN with each mode, and evaluate it over T.

``python -m jelly.examples.ann2snn_cnn_mnist -data-dir ../shared/data/mnist -out-dir runs/ann2snn``

The training, conversion, evaluation table and accuracy-vs-T plot are implemented in
:mod:`jelly.ann2snn.examples_cnn_mnist` (shipped with jelly-ann2snn); this entry point makes
it runnable from ``jelly.examples`` like every other example.
"""

from jelly.ann2snn.examples_cnn_mnist import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    main()
