"""What every training explorer shares: :class:`StreamingExplorer`, an explorer over a
GUI-free streaming session (``run(steps)``, ``reset()``, ``replace(**changes)``, a
settable ``lr``, ``history`` with a ``loss`` over ``step``).

Streaming without blocking the kernel: :meth:`StreamingExplorer.start` (the Start button)
launches an asyncio task on the running event loop (in Jupyter, the kernel's own loop)
that trains ``chunk`` steps, redraws the figures in place, then sleeps ``interval_s`` so
the kernel can handle button clicks, slider moves and other cells between chunks. Without
a running loop (plain Python, tests) :meth:`StreamingExplorer.run` does the same chunked
work synchronously.

Controls: Start, Pause, Reset, a log-scale learning-rate slider that applies to the
running session at once, and capability-specific controls that rebuild the session with
``session.replace(...)`` (training restarts from step 0).
"""

from __future__ import annotations

import asyncio
import html
import math
import re
import time

import ipywidgets as widgets
import numpy as np

from ._controls import Coalescer, ExplorerFront, FigureBox, GridSlider, QuietFlag, StatusLine, format_value
from ._explorer import FIG_W, FIG_WIDE

__all__ = ["StreamingExplorer", "check_int", "thin"]


def thin(values, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` samples of a series that draw it as the whole would.

    ``values`` is one series, or several over the same steps as the columns of a 2-D array
    (they share the indices, so their lines keep one x). All samples when there are few
    enough. Else the interior points of runs of equal values go first (a line through them
    is flat anyway: a value held over many steps, such as a learning rate, costs two points
    per change); if that is still too many, the steps are cut into equal parts and each
    keeps the smallest and the largest sample of every series, with the first and the last
    of all (a spike or a dip survives, as it would not by striding). So a redraw's payload
    stays bounded however long training runs.

    >>> thin([0, 1, 1, 1, 1, 2], 4).tolist()
    [0, 1, 4, 5]
    >>> y = np.zeros(1000); y[333] = 5.0
    >>> idx = thin(y + np.linspace(0, 1e-3, 1000), 40)
    >>> len(idx) <= 40 and 333 in idx
    True
    """
    y = np.asarray(values, dtype=float)
    y = y.reshape(len(y), -1)
    n, k = y.shape
    if n <= max_points:
        return np.arange(n)
    interior = np.zeros(n, dtype=bool)
    interior[1:-1] = ((y[1:-1] == y[:-2]) & (y[1:-1] == y[2:])).all(axis=1)  # NaN equals nothing: kept
    keep = np.flatnonzero(~interior)
    if keep.size <= max_points:
        return keep
    z = y[keep]
    m = keep.size
    parts = max(1, (max_points - 2) // (2 * k))
    size = math.ceil(m / parts)
    rows = np.full((parts * size, k), np.nan)
    rows[:m] = z
    rows = rows.reshape(parts, size, k)
    lo = np.where(np.isnan(rows), np.inf, rows).argmin(axis=1)  # (parts, k)
    hi = np.where(np.isnan(rows), -np.inf, rows).argmax(axis=1)
    base = (np.arange(parts) * size)[:, None]
    picked = np.unique(np.concatenate([[0, m - 1], (base + lo).ravel(), (base + hi).ravel()]))
    return keep[picked[picked < m]]


def check_int(value, name, minimum) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


class StreamingExplorer(ExplorerFront):
    """Start / Pause / Reset, the ``lr`` slider, rebuilding controls, errors and the status
    line over a streaming training session (see the module docstring).

    A subclass sets ``session_type`` and ``rebuild_keys`` (the controls that rebuild the
    session) and provides:

    * ``_session_options(session)`` -> the applied value of each rebuild control;
    * ``_replace_kwargs(changed)`` -> ``session.replace`` keywords for changed controls
      (raising ``ValueError`` on a bad value);
    * ``_build_option_controls()`` -> dict of the rebuild controls (observed here);
    * ``_build_figures()`` -> ``(figures, traces)``, ``_draw()`` (the whole history, in
      place, inside ``batch``), ``_build_layout()`` -> the widget;
    * optionally ``_status_values()`` (status parts after step and loss), ``_on_lr()``
      (after an lr change) and ``_sync_option_controls()`` (e.g. disabling a control).
    """

    session_type: type = object
    rebuild_keys: tuple[str, ...] = ()
    #: each line drawn over step keeps at most this many points (see :func:`thin`), so that a
    #: redraw sends the page a bounded payload however long the history
    max_points: int = 400
    #: while Start streams, the figures are redrawn at most this often (seconds; the status
    #: line follows every chunk, and a pause or stop draws the last chunk): a page that
    #: renders slower than chunks arrive would fall behind, and a click would wait behind
    #: the backlog
    redraw_s: float = 0.25

    def __init__(self, session, *, chunk: int = 10, max_steps: int = 2000, interval_s: float = 0.02,
                 throttle_s: float = 0.05, lr_range=None):
        if not isinstance(session, self.session_type):
            raise TypeError(
                f"session must be a spectrakit.tuning.{self.session_type.__name__} (build one from your data first); "
                f"got {type(session).__name__}."
            )
        self.chunk = check_int(chunk, "chunk", 1)
        self.max_steps = check_int(max_steps, "max_steps", 1)
        if not (float(interval_s) >= 0 and math.isfinite(float(interval_s))):
            raise ValueError(f"interval_s must be a finite number of seconds >= 0; got {interval_s!r}.")
        self.interval_s = float(interval_s)
        if session.step > self.max_steps:
            raise ValueError(
                f"the session is at step {session.step}, past max_steps={self.max_steps}: pass a larger "
                "max_steps or session.reset() first."
            )
        self.session = session
        lr = float(session.lr)
        if lr_range is None:
            lo, hi = min(1e-5, lr / 10), max(1.0, lr * 10)
        else:
            lo, hi = (float(v) for v in lr_range)
            if not (0 < lo < hi and math.isfinite(hi)):
                raise ValueError(f"lr_range must be (lo, hi) with 0 < lo < hi; got {lr_range!r}.")
            if not lo <= lr <= hi:
                raise ValueError(f"the session's lr={lr:g} lies outside lr_range={lr_range!r}; widen the range.")
        self._lr_lo, self._lr_hi = lo, hi
        self._options = self._session_options(session)
        self._quiet = QuietFlag()
        self._running = False
        self._task: asyncio.Task | None = None
        self._token: object | None = None
        # (where, message, kind) shown under the status until cleared: a "control" error by
        # the next successful change, a "training" error by the next successful chunk
        self._error: tuple[str, str, str] | None = None
        self._source = None
        self._rebuild_live: dict = {}
        self._note = ""
        self.task_error: BaseException | None = None
        self.n_updates = 0

        self._status = StatusLine("sk-status")
        self.status = self._status.widget
        self.controls = self._build_controls()
        self.figures, self._traces = self._build_figures()
        self.widget = self._adopt(self._build_layout())
        self._coalescer = Coalescer(self._apply, throttle_s=throttle_s, on_error=self._on_apply_error)
        self._redraw()

    # ------------------------------------------------------------------ public API

    @property
    def running(self) -> bool:
        """True while the training task runs (between Start and Pause, Reset, max_steps or an error)."""
        return self._running

    @property
    def task(self) -> asyncio.Task | None:
        """The asyncio task of the current (or last) Start, or None."""
        return self._task

    @property
    def lr(self) -> float:
        """The learning rate applied (the session's)."""
        return float(self.session.lr)

    @property
    def options(self) -> dict:
        """The applied values of the controls that rebuild the session."""
        return dict(self._options)

    @property
    def status_text(self) -> str:
        """The status line as plain text."""
        return html.unescape(re.sub(r"<[^>]+>", " ", self.status.value)).strip()

    def set(self, *, lr=None, **options) -> None:
        """Change controls as a user would; the changes go through the same coalescing
        (call :meth:`flush` to apply one still pending). A value the session rejects shows
        in the status line (and :attr:`error`); an ``lr`` off the slider's range raises."""
        unknown = sorted(set(options) - set(self.rebuild_keys))
        if unknown:
            raise TypeError(f"set() got unknown controls {unknown}; it takes lr and {list(self.rebuild_keys)}.")
        if lr is not None:
            lr = float(lr)
            if not (self._lr_lo * (1 - 1e-12) <= lr <= self._lr_hi * (1 + 1e-12)):
                raise ValueError(
                    f"lr={lr!r} is outside the slider's range [{self._lr_lo:.3g}, {self._lr_hi:.3g}]; "
                    "build the explorer with a wider lr_range."
                )
        for key, value in options.items():
            if value is None:
                continue
            control = self.controls[key]
            options_of = getattr(control, "options", None)
            if options_of is not None and value not in options_of:
                self._coalescer.submit(**{key: value, "source": "set"})  # the session names the choices
                continue
            if isinstance(control, widgets.FloatText):
                value = float(value)
            if control.value == value:  # no change event: submit as the handler would
                self._coalescer.submit(**{key: value, "source": "set"})
            else:
                control.value = value
        if lr is not None:
            self._lr_slider.set(lr)

    def start(self) -> None:
        """Start (or resume) training on the running asyncio event loop; returns at once.

        Each chunk trains ``chunk`` steps, updates the figures and the status line, then
        sleeps ``interval_s`` so the kernel stays responsive. Stops at :meth:`pause`,
        :meth:`reset`, ``max_steps``, a non-finite loss or an error (shown in the status line).
        """
        if self._running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                f"{type(self).__name__}.start() streams training on the running asyncio event loop (a "
                "Jupyter kernel has one), but no event loop is running here. In plain Python call "
                "explorer.run(steps): the same chunked training and figure updates, synchronously."
            ) from None
        self._coalescer.flush()
        if self.session.step >= self.max_steps:
            self._note = f"at max_steps = {self.max_steps}: press Reset (or build the explorer with a larger max_steps)"
            self._show_status()
            return
        token = self._token = object()
        self._running = True
        self.task_error = None
        self._clear_error("training")
        self._note = ""
        self._sync_buttons()
        self._show_status()
        self._task = loop.create_task(self._train(token))

    def pause(self) -> None:
        """Stop training after the current chunk (at once when called between chunks, as
        every click and cell is)."""
        if not self._running:
            return
        self._token = None  # the task sees it when it wakes and returns
        self._running = False
        self._sync_buttons()
        self._note = ""
        self._show_status()
        self._catch_up()

    def reset(self) -> None:
        """Pause and return the session to step 0 (its state after construction)."""
        self.pause()
        self._coalescer.flush()
        self.session.reset()
        self._error = None
        self._note = "reset to step 0"
        self._redraw()

    def run(self, steps: int):
        """Train ``steps`` more steps synchronously (at most up to ``max_steps``) in chunks of
        ``chunk``, updating the figures after each: what Start does, without an event loop.
        Returns None (so a cell ending in ``explorer.run(300)`` does not display the
        explorer a second time). Errors show in the status line and are raised."""
        steps = check_int(steps, "steps", 0)
        if self._running:
            raise RuntimeError("training is running (Start): pause() before run(steps).")
        self._coalescer.flush()
        target = min(self.session.step + steps, self.max_steps)
        self._note = ""
        try:
            while self.session.step < target:
                if not self._train_chunk(min(self.chunk, target - self.session.step)):
                    break
        except Exception as exc:
            self._set_error(exc, f"training (stopped at step {self.session.step})", "training")
            raise
        if steps and self.session.step >= self.max_steps and target < self.session.step + steps:
            self._note = f"stopped at max_steps = {self.max_steps}"
            self._show_status()

    async def wait(self) -> None:
        """Wait until the current training task has returned (after a pause, max_steps or an error)."""
        task = self._task
        if task is not None and task is not asyncio.current_task():
            await asyncio.shield(task)

    # ------------------------------------------------------------------ training

    async def _train(self, token) -> None:
        last_draw = -math.inf
        try:
            while self._token is token:
                if self.session.step >= self.max_steps:
                    self._note = f"stopped at max_steps = {self.max_steps}"
                    self._stop()
                    break
                # a control moved since the last chunk (a click or a drag, coalesced) applies
                # before the next chunk starts, not whenever its throttle timer fires
                self._coalescer.flush()
                if self._token is not token:  # that change paused or rebuilt
                    break
                draw = time.monotonic() - last_draw >= self.redraw_s
                if not self._train_chunk(min(self.chunk, self.max_steps - self.session.step), draw=draw):
                    self._stop()
                    break
                if draw:
                    last_draw = time.monotonic()
                await asyncio.sleep(self.interval_s)
        except Exception as exc:  # shown, and the task stops: never a silent dead loop
            self.task_error = exc
            self._error = (f"training (stopped at step {self.session.step})", f"{type(exc).__name__}: {exc}",
                           "training")
            self._stop()
        finally:
            if self._token is token:  # cancelled from outside (the loop closing): not running any more
                self._stop()

    def _stop(self) -> None:
        self._token = None
        self._running = False
        self._sync_buttons()
        self._show_status()
        self._catch_up()

    def _train_chunk(self, n: int, *, draw: bool = True) -> bool:
        """Train ``n`` steps and redraw (or, with ``draw=False``, only read the history for the
        status line); False if the loss is no longer finite."""
        self.session.run(n)
        if draw:
            self._draw()
            self._drawn = (id(self.session), self.session.step)
        else:
            self._hist = self.session.history
        loss = self._hist["loss"].values[-1]
        if not np.isfinite(loss):
            self._note = ""
            self._error = ("training", f"the loss is {loss} at step {self.session.step}: training diverged. "
                           "Lower lr and press Reset.", "training")
            self._show_status()
            return False
        self._clear_error("training")
        self._show_status()
        return True

    # ------------------------------------------------------------------ controls

    def _build_controls(self) -> dict:
        c: dict = {}
        for key, label, icon, style in (
            ("start", "Start", "play", "success"), ("pause", "Pause", "pause", ""), ("reset", "Reset", "undo", ""),
        ):
            b = widgets.Button(description=label, icon=icon, button_style=style, layout=widgets.Layout(width="90px"))
            b.add_class(f"sk-{key}-button")
            b.on_click(self._guard(getattr(self, f"_on_{key}"), f"{key} button"))
            c[key] = b
        self._lr_slider = GridSlider(self._lr_lo, self._lr_hi, self.lr, name="lr", step=0.05,
                                    css_class="sk-lr-slider", width="320px")
        self._lr_slider.on_change(self._guard(lambda lr: self._coalescer.submit(lr=lr, source="lr"), "lr slider"))
        c.update(self._add_slider("lr", self._lr_slider))
        options = self._build_option_controls()
        for key in self.rebuild_keys:
            options[key].add_class(f"sk-{key.replace('_', '-')}")
            options[key].observe(self._guard(self._control_handler(key), key.replace("_", " ")), names="value")
        c.update(options)
        return c

    def _control_handler(self, key):
        def handler(change):
            self._coalescer.submit(**{key: change["new"], "source": key})

        return handler

    def _on_start(self, _button) -> None:
        self.start()

    def _on_pause(self, _button) -> None:
        self.pause()

    def _on_reset(self, _button) -> None:
        self.reset()

    def _sync_buttons(self) -> None:
        c = self.controls
        c["start"].disabled = self._running
        c["pause"].disabled = not self._running

    def _sync_controls(self, source) -> None:
        """Controls follow the applied state, except the one the change came from (while
        dragged it may be ahead of the applied value)."""
        c, o = self.controls, self._options
        with self._quiet:
            if source != "lr":
                self._lr_slider.show(self.lr)
            for key in self.rebuild_keys:
                if source != key and c[key].value != o[key]:
                    c[key].value = o[key]
            self._sync_option_controls()
        self._sync_buttons()

    def _sync_option_controls(self) -> None:
        """Hook: adjust option controls to the applied state (inside the quiet flag)."""

    # ------------------------------------------------------------------ apply

    def _apply(self, changes: dict) -> None:
        live = self._pop_live(changes)
        source = self._source = changes.pop("source", None)
        changed = {k: changes[k] for k in self.rebuild_keys if k in changes and changes[k] != self._options[k]}
        lr = changes.get("lr")
        if live and not changed:
            self._set_live(live)  # raises before anything else is applied: the error shows
        # live values that came with a rebuild go into the new session (see _rebuild)
        self._rebuild_live = live if changed else {}
        try:
            if changed:
                self._rebuild(changed, lr)
            elif lr is not None and float(lr) != self.lr:
                self.session.lr = float(lr)  # from the next step on; the session checks it
                self._note = f"lr = {self.lr:.3g} from step {self.session.step} on"
                self._on_lr()
        finally:
            self._rebuild_live = {}
        self._error = None
        self._sync_controls(source)
        self._show_status()

    def _pop_live(self, changes: dict) -> dict:
        """Hook: take from ``changes`` the session attributes set live (besides ``lr``)."""
        return {}

    def _set_live(self, live: dict) -> None:
        """Set attributes on the running session (from the next step on), all or none."""
        s = self.session
        old = {k: getattr(s, k) for k in live}
        done = []
        try:
            for k, v in live.items():
                setattr(s, k, v)  # the session checks the value
                done.append(k)
        except Exception:
            for k in done:
                setattr(s, k, old[k])
            raise
        moved = [k for k in live if getattr(s, k) != old[k]]
        if moved:
            self._note = f"{', '.join(self._live_text(k) for k in moved)} from step {s.step} on"
            self._on_live()

    def _live_text(self, key: str) -> str:
        """Hook: how a live value reads in the status line's note."""
        return f"{key} = {getattr(self.session, key):.4g}"

    def _on_live(self) -> None:
        """Hook: after live values changed on the running session (redraw what shows them)."""

    def _on_lr(self) -> None:
        """Hook: after an lr change applied to the running session."""

    def _rebuild(self, changed: dict, lr) -> None:
        kwargs = self._replace_kwargs(changed)
        kwargs.update(self._rebuild_live)  # a live move that came with the change
        if lr is not None:
            kwargs["lr"] = float(lr)
        new = self.session.replace(**kwargs)  # raises on a bad value: the old session stays
        if new.step > self.max_steps:
            raise ValueError(f"session.replace returned a session at step {new.step} > max_steps.")
        self.session = new
        self._options = self._session_options(new)
        what = ", ".join(f"{k} = {changed[k]}" for k in changed)
        state = "training continues" if self._running else "press Start"
        self._note = f"new session ({what}): training restarts from step 0; {state}"
        self._redraw()

    @staticmethod
    def _non_negative(changed: dict, key: str) -> float:
        value = float(changed[key])
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{key} must be a finite number >= 0; got {changed[key]!r}.")
        return value

    def _line(self, x, y):
        """``(x, y)`` thinned to at most :attr:`max_points` points (see :func:`thin`); ``y``
        may hold several lines as columns, thinned together."""
        x, y = np.asarray(x), np.asarray(y)
        idx = thin(y, self.max_points)
        return x[idx], y[idx]

    def _layout(self, option_rows, body, css_class: str) -> FigureBox:
        """The streaming explorers' layout: Start, Pause, Reset and the lr slider; a row for
        each list of control keys in ``option_rows``; the status line; then ``body``, each
        item a figure key (full width) or a list of figure keys (in two columns)."""
        c = self.controls
        rows = [["start", "pause", "reset", "lr", "lr_readout"], *option_rows]
        items = [widgets.HBox([c[k] for k in keys], layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
                 for keys in rows]
        items.append(self.status)
        for part in body:
            if isinstance(part, str):
                items.append(self.figures[part])
            else:
                items.append(widgets.GridBox([self.figures[k] for k in part], layout=widgets.Layout(
                    grid_template_columns=f"repeat(2, {FIG_W}px)", grid_gap="6px 12px", width=f"{FIG_WIDE + 12}px")))
        box = FigureBox(items, figures=self.figures.values(), layout=widgets.Layout(width=f"{FIG_WIDE + 30}px"))
        box.add_class(css_class)
        return box

    # ------------------------------------------------------------------ errors and status

    def _set_error(self, exc: BaseException, where: str, kind: str = "control") -> None:
        self._error = (where, f"{type(exc).__name__}: {exc}", kind)
        self._show_status()

    _report_error = _set_error  # kept under the status until cleared (see _error)

    def _clear_error(self, kind: str) -> None:
        if self._error is not None and self._error[2] == kind:
            self._error = None

    def _on_apply_error(self, exc: BaseException) -> None:
        where = {"lr": "lr slider", "set": "set()"}.get(self._source, str(self._source or "update").replace("_", " "))
        self._set_error(exc, where)
        self._sync_controls(None)

    def _status_values(self) -> list[str]:
        """Hook: status parts after the step and the loss."""
        return []

    def _status_parts(self) -> list[str]:
        s = self.session
        loss = float(self._hist["loss"].values[-1])
        parts = [f"step {s.step}/{self.max_steps}", f"loss = {loss:.3e}", *self._status_values(),
                 format_value("lr", s.lr), self._run_state()]
        if self._note:
            parts.append(self._note)
        return parts

    def _run_state(self) -> str:
        if self._running:
            return "running"
        return "paused" if self.session.step > 0 else "ready: press Start"

    def _show_status(self) -> None:
        text = "  \u00b7  ".join(self._status_parts())
        if self._error is None:
            self._status.show(text)
            return
        where, message, _ = self._error
        self._status.error = message
        self._status.widget.value = (
            f"<span style='font-family: monospace'>{html.escape(text)}</span><br>"
            "<span style='color: #c62828; font-family: monospace'>"
            f"&#9888; {html.escape(f'error in {where}: {message}')}</span>"
        )

    def _catch_up(self) -> None:
        """Draw the last chunk if streaming skipped it (see :attr:`redraw_s`)."""
        if getattr(self, "_drawn", None) != (id(self.session), self.session.step):
            self._draw()
            self._drawn = (id(self.session), self.session.step)

    def _redraw(self) -> None:
        """After a new session or a reset: redraw everything, sync the controls and status."""
        self._draw()
        self._drawn = (id(self.session), self.session.step)
        self._sync_controls(None)
        self._show_status()
