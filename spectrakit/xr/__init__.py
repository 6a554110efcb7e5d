"""xarray layer: labelled inputs in, numpy-backed xarray results out.

One module per capability (filtering, fourier, graphs, curves, dynamics, weights,
representations, implicit), all through one bridge, :mod:`spectrakit.xr._apply`: tensor
conversions, the ``apply_ufunc`` wrapper (dask-backed inputs run lazily, block by block,
over chunked non-core dims) and ``finish`` (attrs, the scalar-``reg`` squeeze). The
``.spectral`` accessor (:mod:`spectrakit.xr.accessor`) is generated from
:mod:`spectrakit._registry`.
"""

from . import accessor  # noqa: F401  (registers .spectral)
from .curves import __all__ as _curves_all
from .curves import *  # noqa: F401,F403
from .filtering import __all__ as _filtering_all
from .filtering import *  # noqa: F401,F403
from .fourier import __all__ as _fourier_all
from .fourier import *  # noqa: F401,F403
from .graphs import __all__ as _graphs_all
from .graphs import *  # noqa: F401,F403
from .dynamics import __all__ as _dynamics_all
from .dynamics import *  # noqa: F401,F403
from .weights import __all__ as _weights_all
from .weights import *  # noqa: F401,F403
from .representations import __all__ as _representations_all
from .representations import *  # noqa: F401,F403
from .implicit import __all__ as _implicit_all
from .implicit import *  # noqa: F401,F403

# ``choose`` (from filtering's __all__) is the function: the package attribute shadows the
# module spectrakit.xr.choose, which filtering imports first (importlib.import_module
# and sys.modules reach the module)
__all__ = [*_curves_all, *_filtering_all, *_fourier_all, *_graphs_all]
__all__ += [*_dynamics_all, *_weights_all, *_representations_all, *_implicit_all]
