"""spectrakit: regularization made visible in the spectrum.

Decompose once (SVD, eigendecomposition, FFT, graph Laplacian, Hessian), filter the
spectrum with one strength ``reg``, and watch solutions and criteria move.

>>> import numpy as np, spectrakit
>>> ds = spectrakit.datasets.shaw(32, noise=1e-3, seed=0)
>>> path = spectrakit.regularize(ds["A"], ds["b"], reg=np.logspace(-10, 0, 41), device="cpu")
>>> reg = spectrakit.choose(path, "gcv")

Every capability's labelled functions (:mod:`spectrakit.xr`) and every session
(:mod:`spectrakit.tuning`) are here. The widgets live in :mod:`spectrakit.widgets` (``from spectrakit.widgets import
RegularizationExplorer``) and are never imported by ``import spectrakit``.
"""

from . import datasets
from . import tuning as _tuning
from . import xr as _xr
from .options import get_options, set_options
from .tuning import *  # noqa: F401,F403  (every session)
from .xr import *  # noqa: F401,F403  (every capability's labelled functions)

__version__ = "0.1.0.dev0"

__all__ = [*_xr.__all__, *_tuning.__all__, "set_options", "get_options", "datasets"]
