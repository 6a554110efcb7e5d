"""What every benchmark script shares: printing, timing units, the machine's description
and the aligned table. Imported as ``_common`` (the scripts run as ``python benchmarks/X.py``)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch

try:
    import spectrakit
except ImportError:  # run from a checkout without installing: use the repository's copy
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import spectrakit


def say(msg: str = "") -> None:
    print(msg, flush=True)


def synchronize(device: str) -> None:
    """Wait for the GPU, so that a timing covers the work and not only its launch."""
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def fmt_s(seconds: float) -> str:
    if seconds < 0:
        return "-" + fmt_s(-seconds)
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def print_columns(lines: list[tuple]) -> None:
    """Print rows as left-aligned columns; the first row is the header, underlined."""
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    say()
    for j, line in enumerate(lines):
        say("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip())
        if j == 0:
            say("  ".join("-" * w for w in widths))


def environment(args, **versions) -> dict:
    """The machine and versions a JSON result was measured with (``versions``: the peers')."""
    env = {
        "device": args.device,
        "dtype": getattr(args, "dtype", None),
        "quick": args.quick,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "versions": {
            "spectrakit": getattr(spectrakit, "__version__", "unknown"),
            "torch": torch.__version__,
            "numpy": np.__version__,
            **versions,
        },
    }
    if str(args.device).startswith("cuda") and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    if hasattr(os, "getloadavg"):  # other work on the machine skews CPU timings
        env["load_average_start"] = os.getloadavg()
    return env
