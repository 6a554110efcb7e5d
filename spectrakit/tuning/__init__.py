"""GUI-free sessions: a cached decomposition plus ``update(reg, ...)``."""

from .curves import LearningCurveSession
from .dynamics import TrainingSession
from .filtering import RegularizationSession
from .fourier import SpectrumSession
from .graphs import GraphFilterSession, GraphSpectrumSession
from .implicit import ImplicitSession
from .representations import RepresentationSession
from .weights import WeightSession

__all__ = [
    "GraphFilterSession", "GraphSpectrumSession", "ImplicitSession", "LearningCurveSession",
    "RegularizationSession", "RepresentationSession", "SpectrumSession",
    "TrainingSession", "WeightSession",
]
