"""Live Jupyter explorers (ipywidgets + plotly ``FigureWidget``) built on the GUI-free
sessions of :mod:`spectrakit.tuning`.

Opt-in: ``import spectrakit`` never imports this package (nor ipywidgets or plotly);
use ``from spectrakit.widgets import RegularizationExplorer``. Needs the ``widgets``
extra (``pip install spectrakit[widgets]``: ipywidgets, plotly, anywidget).
"""

from .curves import LearningCurveExplorer
from .dynamics import TrainingExplorer
from .filtering import RegularizationExplorer
from .fourier import SpectrumExplorer
from .graphs import GraphFilterExplorer, GraphSpectrumExplorer
from .implicit import ImplicitExplorer
from .representations import RepresentationExplorer
from .weights import WeightExplorer

__all__ = [
    "GraphFilterExplorer", "GraphSpectrumExplorer", "ImplicitExplorer", "LearningCurveExplorer",
    "RegularizationExplorer", "RepresentationExplorer",
    "SpectrumExplorer", "TrainingExplorer", "WeightExplorer",
]
