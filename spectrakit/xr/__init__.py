"""xarray layer: labelled inputs in, numpy-backed xarray results out."""

from . import accessor  # noqa: F401  (registers .spectral)
from .curves import __all__ as _curves_all
from .curves import *  # noqa: F401,F403
from .filtering import __all__ as _filtering_all
from .filtering import *  # noqa: F401,F403
from .fourier import __all__ as _fourier_all
from .fourier import *  # noqa: F401,F403
from .graphs import __all__ as _graphs_all
from .graphs import *  # noqa: F401,F403

# ``choose`` (from filtering's __all__) is the function: the package attribute shadows the
# module spectrakit.xr.choose, which filtering imports first (importlib.import_module
# and sys.modules reach the module)
__all__ = [*_curves_all, *_filtering_all, *_fourier_all, *_graphs_all]
