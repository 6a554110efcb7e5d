"""GUI-free sessions: a cached decomposition plus ``update(reg, ...)``."""

from .dynamics import TrainingSession
from .filtering import RegularizationSession
from .fourier import SpectrumSession
from .representations import RepresentationSession
from .weights import WeightSession

__all__ = ["RegularizationSession", "RepresentationSession", "SpectrumSession", "TrainingSession", "WeightSession"]
