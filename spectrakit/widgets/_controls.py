"""Small pieces every explorer shares: coalescing of control events (:class:`Coalescer`),
a log-scale slider that ignores the page's snapping echo (:class:`LogSlider`), a status
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
import math
import time
from typing import Any, Callable

import ipywidgets as widgets

__all__ = [
    "Coalescer", "StatusLine", "QuietFlag", "LogSlider", "FigureBox", "sync_figure_state", "format_value", "batch",
    "move_control", "ExplorerFront",
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

    def trace(self, figure: str, name: str):
        """A trace of a figure by key, e.g. ``trace("criteria", "current")`` (each explorer
        lists its figures' keys under ``figures``)."""
        return self._traces[figure][name]

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

    def _guard(self, func, where: str):
        """An observer whose exceptions show in the status line and revert the controls."""

        def observer(change):
            if self._quiet:
                return
            try:
                func(change)
            except Exception as exc:
                self._report_error(exc, where)
                self._sync_controls(None)

        return observer


def move_control(control, value, coalescer: Coalescer, *, before=None, **change) -> None:
    """Set ``control`` to ``value`` as a user would, so that its handler submits the change.

    A control already at ``value`` fires no change event, so ``change`` is submitted to
    ``coalescer`` directly (``source="set"``): an explorer's ``set(...)`` always applies.
    ``before`` runs just before a real move (e.g. to leave the exact value for a handler
    that would otherwise read a slider's rounded one).
    """
    if control.value == value:
        coalescer.submit(**change, source="set")
        return
    if before is not None:
        before()
    control.value = value


def format_value(name: str, value: float) -> str:
    """``format_value("reg", 1.234e-4) == "reg = 1.23e-04"``."""
    return f"{name} = {value:.2e}"


def _from_frontend(widget, name: str = "value") -> bool:
    """True while ``widget`` handles a change of ``name`` sent by the page (ipywidgets
    locks the property while it applies a front-end update; a change made in Python
    holds no lock)."""
    return name in (getattr(widget, "_property_lock", None) or {})


class LogSlider:
    """A plain ``FloatSlider`` over ``log10(value)``, with an HTML readout of the value,
    that knows the exact value it stands for.

    Not ``FloatLogSlider``: in JupyterLab a FloatLogSlider set from Python right after
    display can end on the page's rounded echo instead of the kernel's value. A plain
    ``FloatSlider`` with ``continuous_update=True`` echoes too: when it is displayed or
    moved from Python to a value off its step grid, the page snaps the value to the grid
    and sends the snapped value back as if the user had moved it. So a change that comes
    from the page and lies within half a step of the value shown is taken as that echo
    and ignored; a user's move is always at least a step away. The slider's own readout
    is off (it would show the exponent); :attr:`readout` shows ``name = 1.23e-04``.

    Parameters
    ----------
    lo, hi : float > 0
        The range of the value (not its log).
    value : float > 0
        The start value (the slider rests at the nearest end if it lies outside).
    name : str
        The readout's label.
    step : float
        The step in decades.

    Attributes
    ----------
    slider : ipywidgets.FloatSlider (its value is log10 of the quantity)
    readout : ipywidgets.HTML
    value : float, the exact value shown

    Examples
    --------
    >>> s = LogSlider(1e-6, 1.0, 1e-3)
    >>> seen = []
    >>> s.on_change(seen.append)
    >>> s.set(2.5e-4)   # as a user would; callbacks get exactly this value
    >>> seen, s.readout.value
    ([0.00025], 'reg = 2.50e-04')
    >>> s.show(1e-2)    # follow the applied value, no callback
    >>> seen
    [0.00025]
    """

    def __init__(self, lo: float, hi: float, value: float, *, name: str = "reg", step: float = 0.05,
                 description: str | None = None, css_class: str | None = None, width: str = "360px"):
        for label, v in (("lo", lo), ("hi", hi), ("value", value)):
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{label} must be finite and > 0 for a log slider; got {v!r}.")
        if not lo < hi:
            raise ValueError(f"need lo < hi for a log slider; got lo={lo!r}, hi={hi!r}.")
        self.name = name
        self.value = float(value)
        self._callbacks: list[Callable[[float], Any]] = []
        self._quiet = QuietFlag()
        self._hint: tuple[float, float] | None = None
        self.slider = widgets.FloatSlider(
            value=self._position(value),
            min=math.log10(lo),
            max=math.log10(hi),
            step=step,
            readout=False,
            continuous_update=True,
            description=description if description is not None else f"log\u2081\u2080 {name}",
            style={"description_width": "initial"},
            layout=widgets.Layout(width=width),
        )
        if css_class:
            self.slider.add_class(css_class)
        self.readout = widgets.HTML(value=format_value(name, value), layout=widgets.Layout(min_width="9em"))
        self.readout.add_class(f"{css_class}-readout" if css_class else "sk-readout")
        self.slider.observe(self._observe, names="value")

    def on_change(self, callback: Callable[[float], Any]) -> None:
        """Call ``callback(value)`` on each change by the user or :meth:`set` (not :meth:`show`)."""
        self._callbacks.append(callback)

    def set(self, value: float) -> None:
        """Move the slider as a user would; callbacks receive exactly ``value``."""
        value = float(value)
        position = self._position(value)
        if position == self.slider.value:  # no change event would fire
            self._accept(value)
            return
        self._hint = (position, value)  # exactly value, not 10**log10(value)
        self.slider.value = position

    def show(self, value: float) -> None:
        """Show ``value`` (the slider rests at an end if it is outside); no callbacks."""
        self.value = float(value)
        self.readout.value = format_value(self.name, self.value)
        with self._quiet:
            self.slider.value = self._position(value)

    def _position(self, value: float) -> float:
        position = math.log10(value)
        if hasattr(self, "slider"):
            position = min(max(position, self.slider.min), self.slider.max)
        return position

    def _observe(self, change) -> None:
        if self._quiet:
            return
        new = change["new"]
        hint, self._hint = self._hint, None
        if hint is not None and hint[0] == new:
            self._accept(hint[1])
            return
        if _from_frontend(self.slider) and abs(new - self._position(self.value)) <= 0.5 * self.slider.step * (1 + 1e-9):
            return  # the page snapped the value shown to its step grid: not a move
        self._accept(10.0**new)

    def _accept(self, value: float) -> None:
        self.value = value
        self.readout.value = format_value(self.name, value)
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
