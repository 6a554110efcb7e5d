"""xarray layer: labelled inputs in, numpy-backed xarray results out."""

from . import accessor  # noqa: F401  (registers .spectral)
from .filtering import choose, picard, regularize, regularize_kernel

__all__ = ["regularize", "regularize_kernel", "choose", "picard"]
