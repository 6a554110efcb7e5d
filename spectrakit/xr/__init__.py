"""xarray layer: labelled inputs in, numpy-backed xarray results out."""

from . import accessor  # noqa: F401  (registers .spectral)
from .filtering import choose, picard, regularize, regularize_kernel
from .fourier import (
    blur,
    deconvolve,
    lowpass,
    smooth,
    coherence,
    cross_spectrum,
    fft,
    ifft,
    irfft,
    isotropic_power,
    power,
    rfft,
    spectrogram,
    wavenumbers_squared,
)

__all__ = [
    "regularize",
    "regularize_kernel",
    "choose",
    "picard",
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "power",
    "spectrogram",
    "cross_spectrum",
    "coherence",
    "isotropic_power",
    "wavenumbers_squared",
    "smooth",
    "deconvolve",
    "lowpass",
    "blur",
]
