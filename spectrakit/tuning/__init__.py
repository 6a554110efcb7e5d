"""GUI-free sessions: a cached decomposition plus ``update(reg, ...)``."""

from .dynamics import TrainingSession
from .filtering import RegularizationSession
from .fourier import SpectrumSession

__all__ = ["RegularizationSession", "SpectrumSession", "TrainingSession"]
