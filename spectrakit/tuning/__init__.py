"""GUI-free sessions: a cached decomposition answering a slider.

Two contracts. Slider-driven sessions follow :class:`~spectrakit.tuning._session.Session`
(read :mod:`spectrakit.tuning._session` first): ``solve`` (tensors, pure), ``update``
(labelled, atomic), ``path`` (cached), ``choices``; the spectral ones are
:class:`~spectrakit.tuning._session.FilterSession` s (Regularization, Spectrum, GraphFilter,
LearningCurve), and :class:`GraphSpectrumSession` is a plain Session. Training sessions
follow :class:`~spectrakit.tuning._streaming.StreamingSession`: ``run(steps, chunk=,
callback=)``, with ``step`` their training counter.
"""

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
