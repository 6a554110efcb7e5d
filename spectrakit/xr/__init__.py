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

# the function, bound last: the package attribute ``choose`` is the function, not the
# module spectrakit.xr.choose (importlib.import_module reaches the module)
from .choose import choose  # noqa: E402,F401

__all__ = [*_curves_all, *_filtering_all, *_fourier_all, *_graphs_all]
