"""Thread use for small CPU work.

A slider move costs a few small products. With several intra-op threads, OpenMP's
workers spin and wait for each other, and on a busy machine (Binder, a classroom laptop,
a browser beside the kernel) a 1 ms update then takes 10-30 ms. One thread is as fast for
work this small and does not wait on anyone.
"""

from __future__ import annotations

import contextlib

import torch

SMALL_WORK = 1e7  # multiply-adds below which one thread is as fast as several


@contextlib.contextmanager
def single_thread_if_small(work: float, device) -> None:
    """Run the block with one torch intra-op thread when ``work`` is small and on the CPU.

    The previous thread count is restored on exit (the setting is process-wide).
    """
    old = torch.get_num_threads()
    if torch.device(device).type != "cpu" or work >= SMALL_WORK or old == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)
