"""Drive a streaming explorer (a ``widgets._streaming.StreamingExplorer``) under asyncio, as a
Jupyter kernel's event loop would: the scenarios the explorer tests share. The tests keep
their own assertions on the numbers; the checks here are the ones every scenario makes.

``steps_reach``, ``start_and_wait`` and ``change_while_running`` are coroutines (run them
with ``asyncio.run`` or await them inside a test's own coroutine); ``pause_resume`` and
``stream_alongside`` run a loop of their own; ``assert_start_needs_a_loop`` checks the
one thing Start does without a loop. ``run_in_place``, ``arr`` and ``assert_same_history``
check the figures and histories.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest


def arr(values):
    """A trace's x or y (a tuple, list or array) as a float array."""
    return np.asarray(values, dtype=float)


def run_in_place(ex, steps: int):
    """``ex.run(steps)``, checking that it kept the same figures and traces (updated in
    place, never rebuilt); returns the session's history."""
    figures = dict(ex.figures)
    traces = {k: dict(v) for k, v in ex._traces.items()}
    ex.run(steps)
    assert ex.figures == figures and all(ex.trace(f, k) is t for f, d in traces.items() for k, t in d.items())
    return ex.session.history


def assert_same_history(a, b):
    """The two histories (xarray Datasets over ``step``) hold the same variables, equal to
    the bit, over the same steps."""
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    np.testing.assert_array_equal(a["step"].values, b["step"].values)


async def steps_reach(ex, step: int) -> None:
    """Yield to the loop (the training task) until the session has reached ``step``."""
    while ex.session.step < step:
        await asyncio.sleep(0)


async def start_and_wait(ex) -> None:
    """Start, and wait until the training task returns (max_steps, an error, a pause)."""
    ex.start()
    assert ex.running
    await ex.wait()


async def change_while_running(ex, after: int = 4, **settings) -> None:
    """Start; once ``after`` steps are trained, ``ex.set(**settings)`` (a rebuild) and
    flush; check that the new session restarts from step 0 and keeps training; wait until
    the task returns."""
    ex.start()
    await steps_reach(ex, after)
    ex.set(**settings)
    ex.flush()
    assert ex.session.step == 0 and ex.running and "training continues" in ex.status_text
    await ex.wait()


def assert_start_needs_a_loop(ex) -> None:
    """Without a running event loop Start raises, saying to call ``run(steps)``, and the
    Start button shows that in the status line instead; nothing runs."""
    with pytest.raises(RuntimeError, match=r"explorer\.run\(steps\)"):
        ex.start()
    ex.controls["start"].click()  # the button shows it instead
    assert "explorer.run(steps)" in ex.error and not ex.running


def pause_resume(ex, change) -> None:
    """Stream to step 8 and Pause (the method), train synchronously to step 20, call
    ``change(ex)`` while paused, stream again (the Start button) to step 33, Pause (the
    button), then train synchronously to step 45: the schedule whose numbers the tests
    compare with an uninterrupted run."""

    async def main():
        ex.start()
        await steps_reach(ex, 8)
        ex.pause()
        await ex.wait()
        assert not ex.running
        ex.run(20 - ex.session.step)  # synchronous in between
        change(ex)
        ex.controls["start"].click()
        await steps_reach(ex, 33)
        ex.controls["pause"].click()
        await ex.wait()

    asyncio.run(main())
    ex.run(45 - ex.session.step)


def stream_alongside(ex, stop_at: int, move=None, move_at: int | None = None):
    """Start, and run a second coroutine on the same loop that every millisecond records
    the step it sees (and, the first time the step is at least ``move_at``, calls
    ``move(ex)`` as the front end would between chunks) until the step reaches
    ``stop_at``, then clicks Pause. Checks that Start disabled its button, that the
    training stopped at the click and stayed stopped.

    Returns ``(stopped_at, seen, moved_at)``: the step it stopped at, the steps the other
    coroutine saw, and the step of the move (None without one).
    """
    seen = []
    moved_at = None

    async def other():
        nonlocal moved_at
        while ex.session.step < stop_at:
            seen.append(ex.session.step)
            if move is not None and moved_at is None and ex.session.step >= move_at:
                move(ex)
                moved_at = ex.session.step
            await asyncio.sleep(0.001)
        ex.controls["pause"].click()
        assert move is None or moved_at is not None, f"no step >= {move_at} seen before {stop_at}"

    async def main():
        ex.start()
        assert ex.running and ex.controls["start"].disabled
        await other()
        stopped_at = ex.session.step
        assert not ex.running
        await asyncio.sleep(0.05)
        assert ex.session.step == stopped_at  # it stayed stopped
        await ex.wait()
        return stopped_at

    return asyncio.run(main()), seen, moved_at
