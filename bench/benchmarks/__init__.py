"""The asv benchmark suite of Jelly (see ``bench/README.md``).

One module per area: ``neurons``, ``surrogates``, ``encoders``, ``datasets``, ``examples``
(training-step speed) and ``accuracy`` (``track_`` error rates). Modules import only the
public API of the ``jelly.*`` packages and skip themselves (``NotImplementedError`` in
``setup``) when a piece is missing at the commit being measured, because asv runs the
suite of the working tree against every commit.
"""
