"""What every streaming training session shares: :meth:`StreamingSession.run`, training in
chunks with a callback between them (the hook the training explorers stream through).

A session subclasses it and provides ``_advance(steps)`` (train that many steps, recording
as configured) and ``_threads()`` (a context manager choosing the torch thread count).
"""

from __future__ import annotations

from typing import Callable

from ..core.checks import check_int

__all__ = ["StreamingSession"]


class StreamingSession:
    """Base of the GUI-free training sessions: ``run(steps, chunk=, callback=)``."""

    def _advance(self, steps: int) -> None:  # pragma: no cover - every session provides it
        raise NotImplementedError

    def run(self, steps: int, *, chunk: int | None = None, callback: Callable[..., object] | None = None):
        """Train ``steps`` more steps, recording as configured; returns ``self``.

        ``callback(session)``, if given, is called after every ``chunk`` steps (default:
        all of them at once) and at the end: a hook for streaming front ends, which can
        read the new slice with ``session.history.sel(step=slice(last + 1, None))``.
        Splitting a run (into calls or chunks) never changes the numbers.
        """
        steps = check_int(steps, "steps", 0)
        chunk = steps if chunk is None else check_int(chunk, "chunk", 1)
        done = 0
        while done < steps:
            todo = min(chunk, steps - done)
            with self._threads():
                self._advance(todo)
            done += todo
            if callback is not None:
                callback(self)
        return self
