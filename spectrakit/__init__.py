"""spectrakit: regularization made visible in the spectrum.

Decompose once (SVD, eigendecomposition, FFT, graph Laplacian, Hessian), filter the
spectrum with one strength ``reg``, and watch solutions and criteria move.

>>> import numpy as np, spectrakit
>>> ds = spectrakit.datasets.shaw(32, noise=1e-3, seed=0)
>>> path = spectrakit.regularize(ds["A"], ds["b"], reg=np.logspace(-10, 0, 41), device="cpu")
>>> reg = spectrakit.choose(path, "gcv")

The widgets live in :mod:`spectrakit.widgets` (``from spectrakit.widgets import
RegularizationExplorer``) and are never imported by ``import spectrakit``.
"""

from . import datasets
from .options import get_options, set_options
from .tuning import RegularizationSession, SpectrumSession, TrainingSession
from .xr import blur, choose, deconvolve, lowpass, picard, regularize, regularize_kernel, smooth

__version__ = "0.1.0.dev0"

__all__ = [
    "regularize",
    "regularize_kernel",
    "choose",
    "picard",
    "smooth",
    "deconvolve",
    "lowpass",
    "blur",
    "RegularizationSession",
    "SpectrumSession",
    "TrainingSession",
    "set_options",
    "get_options",
    "datasets",
]
