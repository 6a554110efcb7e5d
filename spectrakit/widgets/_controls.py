"""Small pieces every explorer shares: coalescing of control events (:class:`Coalescer`),
a slider over a grid of values whose value set from Python survives the page
(:class:`GridSlider`), a status
line with an error guard (:class:`StatusLine`), a container that keeps its plotly
figures' front-end state right (:class:`FigureBox`), and the Python API every explorer
answers the same way (:class:`ExplorerFront`).

Generic on purpose (no spectrakit imports): the Fourier, graph and training explorers
reuse them unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import html
import itertools
import math
import threading
import time
from typing import Any, Callable

import ipywidgets as widgets

__all__ = [
    "Coalescer", "StatusLine", "QuietFlag", "GridSlider", "FigureBox", "sync_figure_state", "format_value", "batch",
    "move_control", "ExplorerFront", "HomeLoop",
]


class Coalescer:
    """Throttle a stream of control changes; the last value is always applied.

    ``submit(**changes)`` merges ``changes`` into the pending changes (later values win;
    dict values are merged key by key). If the last application finished more than
    ``throttle_s`` ago, the pending changes are applied at once (leading edge). Otherwise
    a trailing application is scheduled with ``call_later`` on the running asyncio loop
    (inside a Jupyter kernel there is one: it runs between messages); without a running
    loop (plain Python, tests) the changes stay pending until :meth:`flush`. A scheduled
    application reads the pending changes when it fires, so it never applies a stale
    value, and at most one is scheduled at a time.

    ``apply(changes)`` receives the merged dict. Its exceptions go to ``on_error(exc)``
    (never swallowed silently; re-raised when no ``on_error`` is given).

    Examples
    --------
    >>> seen = []
    >>> c = Coalescer(seen.append, throttle_s=10.0)
    >>> c.submit(x=1)   # leading edge: applied at once
    >>> c.submit(x=2); c.submit(x=3)   # within throttle_s: pending (no loop here)
    >>> c.flush()
    True
    >>> seen
    [{'x': 1}, {'x': 3}]
    """

    def __init__(
        self,
        apply: Callable[[dict], Any],
        *,
        throttle_s: float = 0.05,
        on_error: Callable[[BaseException], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not (throttle_s >= 0 and math.isfinite(throttle_s)):
            raise ValueError(f"throttle_s must be a finite number of seconds >= 0; got {throttle_s!r}.")
        self._apply = apply
        self.throttle_s = float(throttle_s)
        self._on_error = on_error
        self._clock = clock
        self._pending: dict = {}
        self._handle: asyncio.TimerHandle | None = None
        self._applying = False
        self._last = -math.inf  # when the last application finished
        self.n_applied = 0

    @property
    def pending(self) -> dict:
        """A copy of the changes not applied yet."""
        return dict(self._pending)

    def submit(self, **changes) -> None:
        for key, value in changes.items():
            old = self._pending.get(key)
            if isinstance(old, dict) and isinstance(value, dict):
                value = {**old, **value}
            self._pending[key] = value
        if self._applying:  # a change made by apply itself: apply it afterwards
            self._schedule(self.throttle_s)
            return
        wait = self._last + self.throttle_s - self._clock()
        if wait <= 0 and self._handle is None:
            self._run()
        else:
            self._schedule(max(wait, 0.0))

    def flush(self) -> bool:
        """Apply the pending changes now; True if there were any."""
        self._cancel()
        if not self._pending:
            return False
        self._run()
        return True

    def cancel(self) -> None:
        """Drop the pending changes (and any scheduled application)."""
        self._cancel()
        self._pending = {}

    # ------------------------------------------------------------------ internals

    def _schedule(self, delay: float) -> None:
        if self._handle is not None:
            return  # the scheduled call will read the newest pending changes
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: pending until flush()
        self._handle = loop.call_later(delay, self._fire)

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if self._pending:
            self._run()

    def _run(self) -> None:
        changes, self._pending = self._pending, {}
        self._applying = True
        try:
            self._apply(changes)
            self.n_applied += 1
        except Exception as exc:
            if self._on_error is None:
                raise
            self._on_error(exc)
        finally:
            self._applying = False
            self._last = self._clock()


class HomeLoop:
    """Runs callbacks on the thread, and asyncio loop, that made it.

    JupyterLab's widget manager (jupyterlab_widgets >= 3.0.16, with ipykernel 7) sends the
    page's widget messages to a kernel *subshell*: a thread of its own, so that widgets
    answer while a cell runs. An explorer's state (its session, figures, coalescer,
    training task) is not thread-safe, so a callback that arrives on another thread is
    handed to the home loop (``call_soon_threadsafe``) and runs there, between chunks of
    training or after the running cell, as it did before subshells. Without a running
    loop at construction (plain Python) callbacks run where they are called.

    >>> home = HomeLoop()
    >>> home.wrap(lambda x: x + 1)(1)   # same thread: called at once
    2
    """

    def __init__(self):
        try:
            self.loop = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        self.thread = threading.get_ident()

    def wrap(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            loop = self.loop
            if loop is None or threading.get_ident() == self.thread or loop.is_closed():
                return func(*args, **kwargs)
            loop.call_soon_threadsafe(functools.partial(func, *args, **kwargs))
            return None

        return wrapper


class QuietFlag:
    """``with quiet: ...`` marks changes made by code, which observers then ignore.

    >>> quiet = QuietFlag()
    >>> with quiet:
    ...     bool(quiet)
    True
    >>> bool(quiet)
    False
    """

    def __init__(self):
        self._depth = 0

    def __bool__(self) -> bool:
        return self._depth > 0

    def __enter__(self):
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        return False


class StatusLine:
    """An HTML status line (class ``sk-status``): normal messages and errors in red.

    :meth:`guard` wraps a callback so that an exception shows here instead of escaping
    into the kernel log (and leaving a dead widget).
    """

    def __init__(self, css_class: str = "sk-status"):
        self.widget = widgets.HTML(value="", layout=widgets.Layout(min_height="1.6em"))
        self.widget.add_class(css_class)
        self.error: str | None = None

    def show(self, text: str) -> None:
        """Show ``text`` (escaped) and clear the last error."""
        self.error = None
        self.widget.value = f"<span style='font-family: monospace'>{html.escape(text)}</span>"

    def show_error(self, exc: BaseException, where: str = "") -> None:
        """Show an exception: type, message and where it happened, in red."""
        self.error = f"{type(exc).__name__}: {exc}"
        prefix = f"error in {where}: " if where else "error: "
        self.widget.value = (
            "<span style='color: #c62828; font-family: monospace'>"
            f"&#9888; {html.escape(prefix + self.error)}</span>"
        )

    def guard(self, func: Callable, where: str | None = None) -> Callable:
        """``func`` with its exceptions shown here (for ``observe`` / ``on_click``)."""
        label = where or getattr(func, "__name__", "callback").strip("_")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                self.show_error(exc, label)
                return None

        return wrapper


_EXPLORERS = itertools.count(1)


class ExplorerFront:
    """The part of every explorer's Python API that is the same for all: display in
    Jupyter, the status line's error, pending changes, :meth:`flush`, traces by figure and
    key, and observers whose exceptions show in the status line.

    Expects ``widget``, ``_status`` (a :class:`StatusLine`), ``_coalescer``, ``_traces``,
    ``_quiet`` and ``_sync_controls(source)``; ``_report_error(exc, where)`` puts an error
    in the status line (override it to keep errors elsewhere).
    """

    @property
    def error(self) -> str | None:
        """The error shown in the status line (``"Type: message"``), or None."""
        return self._status.error

    @property
    def pending(self) -> dict:
        """Control changes recorded but not applied yet (see :meth:`flush`)."""
        return self._coalescer.pending

    def flush(self) -> None:
        """Apply any pending (coalesced) control change now, synchronously."""
        self._coalescer.flush()

    @property
    def sliders(self) -> dict:
        """The controls that are :class:`GridSlider` s, by key (``controls[key]`` is the
        slider's position, ``controls[key + "_readout"]`` its readout):
        ``sliders[key].position(value)`` is where a value sits, ``value_at(position)`` what a
        position stands for."""
        return dict(self.__dict__.get("_grid_sliders", {}))

    def _add_slider(self, key: str, slider: GridSlider) -> dict:
        """Register ``slider`` under ``key``; returns its two controls, ``key`` and ``key_readout``."""
        self.__dict__.setdefault("_grid_sliders", {})[key] = slider
        return {key: slider.slider, f"{key}_readout": slider.readout}

    def trace(self, figure: str, name: str):
        """A trace of a figure by key, e.g. ``trace("criteria", "current")`` (each explorer
        lists its figures' keys under ``figures``)."""
        return self._traces[figure][name]

    def _adopt(self, widget):
        """Mark ``widget`` as this explorer's root: class ``sk-explorer``, and ``dom_class``
        (``sk-explorer-<n>``, this explorer's only), under which a page finds its controls
        and figures when several explorers share it."""
        self.dom_class = f"sk-explorer-{next(_EXPLORERS)}"
        widget.add_class("sk-explorer")
        widget.add_class(self.dom_class)
        return widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _report_error(self, exc: BaseException, where: str) -> None:
        self._status.show_error(exc, where)

    def _on_apply_error(self, exc: BaseException) -> None:
        """The coalescer's error handler: show it, and every control (the one moved too)
        back to what the figures show."""
        self._report_error(exc, "update")
        self._sync_controls(None)

    @property
    def _home(self) -> HomeLoop:
        """Where this explorer's callbacks run (see :class:`HomeLoop`); fixed when first
        asked, by the constructor, on the thread that builds the explorer."""
        home = self.__dict__.get("_home_loop")
        if home is None:
            home = self.__dict__["_home_loop"] = HomeLoop()
        return home

    def _guard(self, func, where: str):
        """An observer, run on the explorer's home loop, whose exceptions show in the status
        line and revert the controls."""

        @self._home.wrap
        def observer(change):
            if self._quiet:
                return
            try:
                func(change)
            except Exception as exc:
                self._report_error(exc, where)
                self._sync_controls(None)

        return observer


def move_control(control, value, coalescer: Coalescer, **change) -> None:
    """Set ``control`` to ``value`` as a user would, so that its handler submits the change.

    A control already at ``value`` fires no change event, so ``change`` is submitted to
    ``coalescer`` directly (``source="set"``): an explorer's ``set(...)`` always applies.
    """
    if control.value == value:
        coalescer.submit(**change, source="set")
        return
    control.value = value


def format_value(name: str, value: float) -> str:
    """``format_value("reg", 1.234e-4) == "reg = 1.23e-04"``."""
    return f"{name} = {value:.2e}"


class GridSlider:
    """A slider over a fixed grid of values (evenly spaced, or evenly in log10), with an HTML
    readout of the exact value it stands for. The kernel is the authority on that value.

    The page sees an ``IntSlider`` over the grid's positions ``0..n_steps``. A position is an
    integer, and integers survive the page unchanged: ipywidgets' slider rounds what
    noUiSlider reports to the nearest integer, so a position set from Python (or shown on
    display) is never snapped and sent back. Every change that comes from the page is
    therefore a user's move, and a value set from code is never overwritten by a late echo.
    (A ``FloatSlider`` snaps an off-grid value to its step grid in the page and sends the
    snapped value back as if the user had moved it; with Run All that echo reaches the
    kernel after the notebook's last ``set``.) The value itself may lie between grid points:
    :meth:`set` passes it on exactly, the slider shows the nearest position and the readout
    ``name = value``.

    Parameters
    ----------
    lo, hi : float
        The range of the value (not its log); both > 0 when ``log``.
    value : float
        The start value (the slider rests at the nearest end if it lies outside).
    name : str
        The readout's label.
    step : float
        The grid's spacing (in decades when ``log``); the range is cut into
        ``round((hi - lo) / step)`` equal steps.
    log : bool
        A grid even in log10 (the default) or in the value.
    fmt : str
        The readout's format spec (default ``".2e"`` for a log grid, ``".4g"`` otherwise).

    Attributes
    ----------
    slider : ipywidgets.IntSlider (its value is the grid position)
    readout : ipywidgets.HTML
    value : float, the exact value shown

    Examples
    --------
    >>> s = GridSlider(1e-6, 1.0, 1e-3, step=0.5)
    >>> seen = []
    >>> s.on_change(seen.append)
    >>> s.set(2.5e-4)   # as a user would; callbacks get exactly this value
    >>> seen, s.slider.value, s.readout.value
    ([0.00025], 5, 'reg = 2.50e-04')
    >>> s.slider.value = 6   # the user moves one step right (in the page)
    >>> seen[-1]
    0.001
    >>> s.show(1e-2)    # follow the applied value, no callback
    >>> len(seen), s.slider.value
    (2, 8)
    """

    def __init__(self, lo: float, hi: float, value: float, *, name: str = "reg", step: float = 0.05,
                 log: bool = True, fmt: str | None = None, description: str | None = None,
                 css_class: str | None = None, width: str = "360px"):
        self.log = bool(log)
        self.name = name
        self.fmt = fmt or (".2e" if self.log else ".4g")
        if not (step > 0 and math.isfinite(step)):
            raise ValueError(f"step must be finite and > 0; got {step!r}.")
        self._step = float(step)
        self._callbacks: list[Callable[[float], Any]] = []
        self._quiet = QuietFlag()
        self._hint: tuple[int, float] | None = None
        self._home = HomeLoop()
        self._set_range(lo, hi)
        self.value = float(value)
        self.slider = widgets.IntSlider(
            value=self.position(value), min=0, max=self.n_steps, step=1, readout=False, continuous_update=True,
            description=description if description is not None else (f"log\u2081\u2080 {name}" if self.log else name),
            style={"description_width": "initial"}, layout=widgets.Layout(width=width),
        )
        if css_class:
            self.slider.add_class(css_class)
        self.readout = widgets.HTML(value=self._text(self.value), layout=widgets.Layout(min_width="9em"))
        self.readout.add_class(f"{css_class}-readout" if css_class else "sk-readout")
        self.slider.observe(self._home.wrap(self._observe), names="value")

    @property
    def lo(self) -> float:
        return self._lo

    @property
    def hi(self) -> float:
        return self._hi

    def value_at(self, position: int) -> float:
        """The grid's value at ``position`` (0 is ``lo``, ``n_steps`` is ``hi``)."""
        t = self._a + (self._b - self._a) * position / self.n_steps
        # a linear grid's points read as typed (0.1 * 3 is 0.30000000000000004 in binary)
        return 10.0**t if self.log else float(f"{t:.12g}")

    def position(self, value: float) -> int:
        """The grid position nearest to ``value`` (an end when it lies outside)."""
        value = float(value)
        if self.log:
            t = math.log10(value) if value > 0 else -math.inf
        else:
            t = value
        if not math.isfinite(t):
            return 0 if t < 0 else self.n_steps
        k = round((t - self._a) / (self._b - self._a) * self.n_steps)
        return int(min(max(k, 0), self.n_steps))

    def on_change(self, callback: Callable[[float], Any]) -> None:
        """Call ``callback(value)`` on each change by the user or :meth:`set` (not :meth:`show`)."""
        self._callbacks.append(callback)

    def set(self, value: float) -> None:
        """Move the slider as a user would; callbacks receive exactly ``value``."""
        value = float(value)
        position = self.position(value)
        if position == self.slider.value:  # no change event would fire
            self._accept(value)
            return
        self._hint = (position, value)
        self.slider.value = position

    def show(self, value: float) -> None:
        """Show ``value`` (the slider at its nearest position); no callbacks."""
        self.value = float(value)
        self.readout.value = self._text(self.value)
        with self._quiet:
            self.slider.value = self.position(self.value)

    def configure(self, lo: float, hi: float, value: float, *, name: str | None = None,
                  description: str | None = None) -> None:
        """Move another quantity: a new range (same number of steps), name and value; no
        callbacks. The page's slider keeps its positions, so nothing is snapped."""
        self._set_range(lo, hi, keep_steps=True)
        if name is not None:
            self.name = name
        if description is not None:
            self.slider.description = description
        self.show(value)

    def _set_range(self, lo: float, hi: float, keep_steps: bool = False) -> None:
        lo, hi = float(lo), float(hi)
        for label, v in (("lo", lo), ("hi", hi)):
            if not math.isfinite(v) or (self.log and v <= 0):
                raise ValueError(f"{label} must be finite{' and > 0 for a log slider' if self.log else ''}; got {v!r}.")
        if not lo < hi:
            raise ValueError(f"need lo < hi for a slider; got lo={lo!r}, hi={hi!r}.")
        self._lo, self._hi = lo, hi
        self._a, self._b = (math.log10(lo), math.log10(hi)) if self.log else (lo, hi)
        if not keep_steps:
            self.n_steps = max(1, round((self._b - self._a) / self._step))

    def _text(self, value: float) -> str:
        return html.escape(f"{self.name} = {value:{self.fmt}}")

    def _observe(self, change) -> None:
        if self._quiet:
            return
        new = change["new"]
        hint, self._hint = self._hint, None
        self._accept(hint[1] if hint is not None and hint[0] == new else self.value_at(new))

    def _accept(self, value: float) -> None:
        self.value = value
        self.readout.value = self._text(value)
        for callback in self._callbacks:
            callback(value)


def sync_figure_state(figures) -> None:
    """Bring each ``FigureWidget``'s stored front-end state up to date with Python.

    plotly's own ``FigureWidget._repr_mimebundle_`` does this when a figure is displayed
    by itself, but not when it is the child of a container. Without it a view created
    later (the container displayed, or displayed again) starts from the front-end model's
    copy, which ``batch_update`` edits of several traces corrupt: a property that one
    trace of the batch did not change is sent as undefined and that trace loses it (its
    name, even its y values).
    """
    for fig in figures:
        if hasattr(fig, "_widget_data") and hasattr(fig, "_layout_obj"):
            fig._widget_layout = copy.deepcopy(fig._layout_obj._props)
            fig._widget_data = copy.deepcopy(fig._data)


class FigureBox(widgets.VBox):
    """A ``VBox`` that runs :func:`sync_figure_state` on its figures whenever it is displayed."""

    def __init__(self, children=(), *, figures=(), **kwargs):
        super().__init__(children, **kwargs)
        self._sk_figures = list(figures)

    def _repr_mimebundle_(self, **kwargs):
        sync_figure_state(self._sk_figures)
        return super()._repr_mimebundle_(**kwargs)


@contextlib.contextmanager
def batch(figures):
    """``with batch([fig1, fig2]):`` one ``batch_update`` around several figures."""
    with contextlib.ExitStack() as stack:
        for fig in figures:
            stack.enter_context(fig.batch_update())
        yield
