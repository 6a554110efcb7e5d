"""The explorers' figure: plotly's ``FigureWidget`` with plotly.js sent once per kernel and
without the page's echo traffic.

plotly's ``FigureWidget`` is an anywidget whose front-end module (``_esm``) is plotly's
whole widget bundle, about 5 MB with plotly.js inside; every figure sends its own copy to
the page, and every update makes the page send back the figure's computed defaults
(``_js2py_traceDeltas``, ``_js2py_layoutDelta``), which grow with the data drawn and queue
ahead of clicks. :class:`Figure` keeps plotly's Python API and its own front-end code, and
changes only how that code reaches the page and what the page sends back:

* the bundle is read from the installed plotly package (no network) into one
  :class:`PlotlyLibrary` widget per kernel, so it crosses the websocket once; each figure's
  ``_esm`` is a small loader that imports the bundle from that widget once per page and
  hands every figure to plotly's own ``initialize`` / ``render``;
* the page no longer reports computed defaults or hover events back: they only fed
  plotly's Python-side defaults (``full_figure_for_development`` covers that need) and
  ``on_hover`` callbacks, which spectrakit does not use. Zoom, legend clicks, selections
  and clicks still reach Python. (plotly 7's page also sends ``_js2py_widget_layoutDelta``,
  a name its Python side does not know: dropped too.)

Also here, the two helpers for 2-D data in a figure: :func:`image_payload` (an image as
one base64 typed array) and :func:`decode_array` (back to numpy, to read a trace).
"""

from __future__ import annotations

import base64
import functools
import hashlib

import ipywidgets as widgets
import numpy as np
import plotly
import plotly.graph_objects as go
import traitlets

# plotly.js's typed-array spec (plotly.js >= 2.28 decodes it): a dtype code, the
# little-endian bytes in base64 and, for more than one dim, the shape "r, c"
_TYPED_CODES = {"float64": "f8", "float32": "f4", "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2",
                "int32": "i4", "uint32": "u4"}
_CODE_DTYPES = {code: np.dtype(name).newbyteorder("<") for name, code in _TYPED_CODES.items()}

__all__ = ["Figure", "PlotlyLibrary", "plotly_library", "image_payload", "decode_array"]

# One loader for every figure. It resolves the library widget, imports its source once per
# page (cached on globalThis by the source's digest, so two kernels with two plotly versions
# never share a module), then runs plotly's own per-widget factory with a model whose
# echo messages are dropped before they are sent.
_LOADER = r"""
const CACHE = Symbol.for("spectrakit.plotly-bundles");
const DROPPED = new Set(["_js2py_traceDeltas", "_js2py_layoutDelta", "_js2py_widget_layoutDelta"]);
const QUIET_POINTS = new Set(["plotly_hover", "plotly_unhover"]);

async function libraryModel(model) {
  const ref = String(model.get("_sk_library") || "").replace(/^IPY_MODEL_/, "");
  for (let attempt = 0; ; attempt++) {
    try {
      return await model.widget_manager.get_model(ref);
    } catch (err) {
      if (attempt >= 40) throw new Error(`spectrakit: plotly library widget ${ref} not found (${err})`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

function bundle(model) {
  const cache = (globalThis[CACHE] ??= new Map());
  const key = model.get("_sk_library_digest");
  if (!cache.has(key)) {
    const loading = (async () => {
      const holder = await libraryModel(model);
      const url = URL.createObjectURL(new Blob([holder.get("source")], { type: "text/javascript" }));
      try {
        return await import(/* webpackIgnore: true */ url);
      } finally {
        URL.revokeObjectURL(url);
      }
    })();
    loading.catch(() => cache.delete(key));
    cache.set(key, loading);
  }
  return cache.get(key);
}

function withoutEchoes(model) {
  let changed = false;
  return {
    ...model,
    set(name, value) {
      if (DROPPED.has(name)) return;
      if (name === "_js2py_pointsCallback" && value && QUIET_POINTS.has(value.event_type)) return;
      changed = true;
      model.set(name, value);
    },
    save_changes() {
      if (!changed) return;
      changed = false;
      model.save_changes();
    },
  };
}

export default () => {
  let figure = null;
  return {
    async initialize({ model, ...rest }) {
      const plotlyWidget = await bundle(model);
      figure = plotlyWidget.default();
      return figure.initialize({ ...rest, model: withoutEchoes(model) });
    },
    render(context) {
      return figure.render(context);
    },
  };
};
"""


class PlotlyLibrary(widgets.Widget):
    """A model-only widget holding plotly's front-end bundle (plotly.js and plotly's
    FigureWidget code) as text, read from the installed package: one per kernel, shared by
    every :class:`Figure` (see :func:`plotly_library`)."""

    source = traitlets.Unicode().tag(sync=True)
    digest = traitlets.Unicode().tag(sync=True)
    version = traitlets.Unicode(plotly.__version__).tag(sync=True)


@functools.lru_cache(maxsize=1)
def _bundle() -> tuple[str, str]:
    """plotly's widget bundle as text (what ``FigureWidget._esm`` holds) and its digest."""
    text = str(go.FigureWidget._esm)  # anywidget reads the packaged file into the class attribute
    return text, hashlib.sha256(text.encode()).hexdigest()[:16]


_library: PlotlyLibrary | None = None


def plotly_library() -> PlotlyLibrary:
    """The kernel's :class:`PlotlyLibrary` (made on first use, and again if it was closed)."""
    global _library
    if _library is None or _library.comm is None:
        source, digest = _bundle()
        _library = PlotlyLibrary(source=source, digest=digest)
    return _library


class Figure(go.FigureWidget):
    """plotly's ``FigureWidget`` (same Python API) whose front-end code comes from the
    kernel's shared :class:`PlotlyLibrary`: the first figure on a page costs plotly.js
    once (about 5 MB), every further figure a few kB, and the page sends no echo of the
    data drawn back to the kernel (see the module docstring).

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> a = Figure(go.Scatter(y=[1, 2]))
    >>> b = Figure()
    >>> a._sk_library is b._sk_library and len(a._esm) < 10_000
    True
    """

    _esm = _LOADER
    _sk_library = traitlets.Instance(PlotlyLibrary).tag(sync=True, **widgets.widget_serialization)
    _sk_library_digest = traitlets.Unicode().tag(sync=True)

    # dynamic defaults: read when the widget opens its comm, so the loader finds the library
    # in the figure's first state (an update would reach the page only after initialize)
    @traitlets.default("_sk_library")
    def _default_library(self):
        return plotly_library()

    @traitlets.default("_sk_library_digest")
    def _default_digest(self):
        return self._sk_library.digest


def image_payload(z: np.ndarray):
    """A 2-D heatmap ``z`` as plotly.js's base64 typed-array spec.

    ipywidgets sends only 1-D numpy arrays as binary buffers; plotly turns a 2-D array
    into nested lists, which costs tens of ms per image on every move. The typed-array
    spec is one base64 string that plotly.js decodes itself.
    """
    a = np.asarray(z)
    code = _TYPED_CODES.get(a.dtype.name)
    if code is None or a.size == 0:
        return z
    data = np.ascontiguousarray(a, dtype=_CODE_DTYPES[code])
    spec = {"dtype": code, "bdata": base64.b64encode(data.tobytes()).decode("ascii")}
    if data.ndim > 1:
        spec["shape"] = ", ".join(str(n) for n in data.shape)
    return spec


def decode_array(value) -> np.ndarray:
    """A trace property as a numpy array, whether it is stored as an array, a list or a
    plotly typed-array spec (``{"dtype", "bdata", "shape"}``, as the explorer's heatmaps are).

    >>> import numpy as np
    >>> z = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> decode_array(image_payload(z)).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=_CODE_DTYPES[value["dtype"]])
        shape = value.get("shape")
        if shape:
            arr = arr.reshape(tuple(int(v) for v in str(shape).split(",")))
        return arr.astype(float)
    return np.asarray(value, dtype=float)
