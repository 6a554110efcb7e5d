"""Power spectra: spectrakit against xrft and scipy.signal.

Each case runs spectrakit and its peers on the same data in one process, prints the
times, the ratios and whether the results agree, and adds a row to a JSON summary. The
data: a (channel, time) DataArray of 512 x 65536 samples (float32 by default), an evenly
spaced time coordinate (1 kHz), seeded Gaussian noise plus three sines and a per-channel
offset (so that the constant detrend matters). Every spectrum is taken along ``time``.

Cases
-----
periodogram  ``da.spectral.power("time")`` (scipy's defaults: boxcar, constant detrend,
             density, one-sided; end to end, xarray in and out) vs
             ``xrft.power_spectrum(da, dim="time", real_dim="time", detrend="constant",
             window=None, scaling="density")`` (the same estimate, see below),
             ``xrft.power_spectrum`` two-sided (its default, folded to one side) and
             ``scipy.signal.periodogram(x, fs, axis=-1)``.
welch        ``da.spectral.power("time", method="welch", nperseg=4096)`` vs
             ``scipy.signal.welch(x, fs, nperseg=4096, axis=-1)`` (Hann, 50 % overlap).
profile      where spectrakit's time goes: conversion and the finite check, float64
             promotion, each step of the core estimate, thread counts, the cost of a new
             large allocation, blocked prototypes of the same arithmetic, and PyTorch's
             THP_MEM_ALLOC_ENABLE switch in fresh processes.

With ``--device cuda`` spectrakit computes on the GPU: the end-to-end time (host array
in, host DataArray out: includes the host->device copy) and the on-device time
(``spectrakit.core.fourier`` on a tensor already on the GPU) are both reported; the peers
stay on the CPU. xrft is imported lazily: without it (the GPU machine) its rows are
skipped with a message.

xrft's settings. ``xrft.power_spectrum`` forces ``true_amplitude=True`` and
``true_phase=False`` (the phase does not enter a power spectrum), so with ``real_dim``,
``detrend="constant"``, ``window=None`` (boxcar) and ``scaling="density"`` it returns
``|X|**2 * dx**2 * df`` doubled at every bin but 0 and Nyquist, where ``dx = 1/fs`` and
``df = 1/(N dx)``: that is ``|X|**2 / (fs N)``, exactly scipy's boxcar density
``|X|**2 / (fs sum(w**2))``, on the same ``rfftfreq(N, dx)`` grid. No renormalization
is needed. Without ``real_dim`` (xrft's default) the spectrum is two-sided and
fftshifted with no doubling; folding ``P(f) + P(-f)`` for ``0 < f < fs/2`` (0 and
``-fs/2`` kept once) gives the one-sided spectrum. ``window_correction`` only applies
with a window. xrft computes in float64 whatever the input (``true_amplitude``
multiplies the complex64 FFT by a numpy float64 scalar).

Run ``python benchmarks/fourier.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import scipy
import scipy.fft
import scipy.signal
import torch
import xarray as xr

from _common import environment as base_environment
from _common import fmt_s, print_columns, say, synchronize

from spectrakit.core import fourier as core

CASES = ("periodogram", "welch", "profile")

# Sizes of the full benchmark and of the --quick smoke run.
SIZES = {
    "full": {"channels": 512, "samples": 65536, "nperseg": 4096},
    "quick": {"channels": 32, "samples": 8192, "nperseg": 1024},
}
SPACING = 1e-3  # seconds: fs = 1 kHz
SINES = ((50.0, 1.0), (123.4, 0.5), (400.0, 0.25))  # (Hz, amplitude) on unit-variance noise

TARGETS = {  # (case, device): {peer: least peer time / spectrakit time}
    ("periodogram", "cpu"): {"xrft.power_spectrum": 2.0},
    ("welch", "cpu"): {"scipy.signal.welch": 2.0},
    ("periodogram", "cuda"): {"xrft.power_spectrum": 50.0},
}

STAND_IN = "scipy.signal.periodogram"  # for xrft where it is not installed (see targets_met)

# Largest max relative difference accepted as agreement, by the dtype of the data (all
# tools compute in it, except xrft, which promotes float32 to float64).
TOLERANCE = {"float64": 1e-6, "float32": 1e-4}


# ------------------------------------------------------------------------------ helpers


def as_numpy(P) -> np.ndarray:
    if isinstance(P, torch.Tensor):
        return P.detach().cpu().numpy()
    if isinstance(P, xr.DataArray):
        return P.transpose("channel", ...).values
    return np.asarray(P)


def max_rel_diff(ours, ref) -> float:
    """Largest over channels of ``max|ours - ref| / max|ref|`` along frequency.

    Scaling each channel's error by that channel's largest reference value keeps the
    near-zero bins (the detrended zero frequency) from inflating the number.
    """
    ours, ref = as_numpy(ours).astype(np.float64), as_numpy(ref).astype(np.float64)
    num = np.abs(ours - ref).max(axis=-1)
    den = np.abs(ref).max(axis=-1)
    return float(np.max(num / np.where(den > 0, den, 1.0)))


def floor_rel_diff(ours, ref) -> float:
    """Largest entrywise ``|ours - ref| / ref`` over the bins at or above their channel's
    median (the noise floor and everything on it): a stricter check than
    :func:`max_rel_diff`, whose scale is the largest peak."""
    ours, ref = as_numpy(ours).astype(np.float64), as_numpy(ref).astype(np.float64)
    med = np.median(ref, axis=-1, keepdims=True)
    mask = (ref >= med) & (ref > 0)
    return float(np.max(np.abs(ours - ref)[mask] / ref[mask]))


def agreement(name: str, ours, ref, dtype: str) -> dict:
    tol = TOLERANCE[dtype]
    value = max_rel_diff(ours, ref)
    return {"what": name, "max_rel_diff": value, "floor_rel_diff": floor_rel_diff(ours, ref),
            "tolerance": tol, "agree": bool(value <= tol)}


def fold_two_sided(P2: np.ndarray, n: int) -> np.ndarray:
    """A fftshifted two-sided spectrum (last axis) as scipy's one-sided one."""
    P = np.fft.ifftshift(P2, axes=-1)  # numpy's order: 0, positive, negative
    P1 = P[..., : n // 2 + 1].copy()  # 0, 0 < f < fs/2 and, for even n, -fs/2 (Nyquist)
    P1[..., 1 : (n + 1) // 2] += P[..., n - 1 : n // 2 : -1]  # + P(-f)
    return P1


def signal_data(channels: int, samples: int, seed: int, dtype: str) -> xr.DataArray:
    """Noise plus three sines (random phases) and a per-channel offset, 1 kHz sampling."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) * SPACING
    x = rng.standard_normal((channels, samples))
    phases = rng.uniform(0.0, 2 * np.pi, (channels, len(SINES)))
    for k, (f, a) in enumerate(SINES):
        x += a * np.sin(2 * np.pi * f * t + phases[:, k : k + 1])
    x += rng.uniform(-1.0, 1.0, (channels, 1))
    return xr.DataArray(
        x.astype(dtype), dims=("channel", "time"), name="signal", attrs={"units": "V"},
        coords={"channel": np.arange(channels), "time": ("time", t, {"units": "s"})},
    )


def where(exc: BaseException) -> str:
    """The innermost frame of an exception and the innermost one inside xrft."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    text = f"{last.filename}:{last.lineno} in {last.name}: {(last.line or '').strip()}"
    inside = [f for f in frames if f"{os.sep}xrft{os.sep}" in f.filename]
    if inside and inside[-1] is not last:
        f = inside[-1]
        text = f"{f.filename}:{f.lineno} in {f.name}: {(f.line or '').strip()}  ->  " + text
    return text


def warning_lines(caught) -> list[str]:
    seen = []
    for w in caught:
        entry = f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})"
        if entry not in seen:
            seen.append(entry)
    return seen


def run_interleaved(entries: dict, *, repeats: int, device: str) -> dict:
    """Time every tool on the same data, one call of each per round, ``repeats`` rounds.

    Interleaving gives spectrakit and its peers the same conditions on a shared machine
    (the load drifts over seconds). Each tool is called once first, untimed (a warm-up:
    torch's and scipy's first-call costs, CUDA's context and plans); the warnings it
    emits (deprecations of the xarray xrft runs on) are recorded. A tool that raises is
    recorded with the exception's type, message and where it was raised, and left out of
    the rounds; the others still run. Returns ``{name: {"out", "times", "warnings"}}`` or
    ``{name: {"error": {...}}}``.
    """
    results, samples = {}, {}
    for name, fn in entries.items():
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = fn()
                synchronize(device)
            results[name] = {"out": out, "warnings": warning_lines(caught)}
            samples[name] = []
        except Exception as exc:  # noqa: BLE001 - reported, and the other tools still run
            results[name] = {"error": {"type": type(exc).__name__, "message": str(exc), "where": where(exc)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            for name in list(samples):
                r = results[name]
                r["out"] = None  # free the previous result first: peak memory stays at one result
                try:
                    synchronize(device)
                    t0 = time.perf_counter()
                    r["out"] = entries[name]()
                    synchronize(device)
                    samples[name].append(time.perf_counter() - t0)
                except Exception as exc:  # noqa: BLE001
                    results[name] = {"error": {"type": type(exc).__name__, "message": str(exc), "where": where(exc)}}
                    del samples[name]
    for name, ts in samples.items():
        results[name]["times"] = {"best_s": min(ts), "median_s": statistics.median(ts), "all_s": ts}
    return results


def import_xrft():
    try:
        import xrft
    except ImportError as exc:
        return None, f"xrft is not installed here ({exc}); its rows are skipped"
    return xrft, None


def fmt_ratio(r: float) -> str:
    return f"{r:.0f}x" if r >= 10 else f"{r:.2f}x"


# -------------------------------------------------------------------------------- cases


def device_entries(args, x: np.ndarray, compute_on_device) -> dict:
    """On a GPU: spectrakit's estimate of a tensor already there, and the input's copy
    from host memory (pageable, as the end-to-end call does it, and page-locked)."""
    if args.device == "cpu":
        return {}
    x_dev = torch.from_numpy(x).to(args.device)
    entries = {
        "spectrakit on device": lambda: compute_on_device(x_dev),
        "host->device copy": lambda: torch.from_numpy(x).to(args.device),
    }
    try:  # the PCIe bound: the same copy from page-locked memory
        pinned = torch.from_numpy(x).pin_memory()
        entries["host->device copy, pinned"] = lambda: pinned.to(args.device, non_blocking=True)
    except RuntimeError as exc:
        say(f"  (no pinned-memory copy: {exc})")
    return entries


def report(args, row: dict, results: dict, labels: dict, ours, refs: dict) -> None:
    """Print spectrakit's times and each peer's time, ratio and agreement; fill ``row``."""
    mine = results["spectrakit"]
    if "error" in mine:
        e = mine["error"]
        raise RuntimeError(f"spectrakit failed: {e['type']}: {e['message']} at {e['where']}")
    t_ours = mine["times"]["best_s"]
    row["times"] = {k: r["times"] for k, r in results.items() if "times" in r and k in labels and k not in refs}
    say(f"  {labels['spectrakit']}: {fmt_s(t_ours)} (best of {args.repeats}, median {fmt_s(mine['times']['median_s'])})")
    if args.device != "cpu":
        for k in ("spectrakit on device", "host->device copy", "host->device copy, pinned"):
            if "times" in results.get(k, {}):
                say(f"    {labels[k]}: {fmt_s(results[k]['times']['best_s'])}")
    on_device = results.get("spectrakit on device", {}).get("times", {}).get("best_s")
    for name, ref_fn in refs.items():
        r = results.get(name)
        if r is None:
            continue
        if "skipped" in r:
            row["peers"][name] = {"skipped": r["skipped"]}
            say(f"  {labels[name]}: skipped: {r['skipped']}")
            continue
        if "error" in r:
            e = r["error"]
            row["peers"][name] = {"error": e}
            say(f"  {labels[name]}: FAILED: {e['type']}: {e['message']}\n      at {e['where']}")
            continue
        agree = agreement(f"spectrakit vs {name}", ours, ref_fn(r["out"]), args.dtype)
        entry = {"times": r["times"], "ratio": r["times"]["best_s"] / t_ours, "agreement": agree,
                 "warnings": r["warnings"]}
        msg = (f"  {labels[name]}: {fmt_s(r['times']['best_s'])}   ratio {fmt_ratio(entry['ratio'])}")
        if on_device:
            entry["ratio_on_device"] = r["times"]["best_s"] / on_device
            msg += f" (against on-device {fmt_ratio(entry['ratio_on_device'])})"
        say(msg + f"   max rel diff {agree['max_rel_diff']:.1e} (floor bins {agree['floor_rel_diff']:.1e})")
        for w in r["warnings"]:
            say(f"      warns: {w}")
        row["peers"][name] = entry
    row["agreement"] = [p["agreement"] for p in row["peers"].values() if "agreement" in p]


def with_workers(fn):
    """``fn`` inside ``scipy.fft.set_workers(cpu_count)``: scipy's FFT on every core."""
    def run():
        with scipy.fft.set_workers(os.cpu_count()):
            return fn()
    return run


def case_periodogram(args, size) -> dict:
    da = signal_data(size["channels"], size["samples"], args.seed, args.dtype)
    x, n, fs = da.values, size["samples"], 1.0 / SPACING
    say(f"[periodogram] {da.sizes['channel']} x {n} {args.dtype} along time (fs = {fs:g} Hz), "
        f"spectrakit on {args.device}; peers on the CPU; {args.repeats} interleaved rounds after a warm-up")
    workers = os.cpu_count()
    entries = {"spectrakit": lambda: da.spectral.power("time", device=args.device, dtype=args.dtype)}
    entries.update(device_entries(args, x, lambda t: core.periodogram(t, fs)[1]))
    labels = {
        "spectrakit": "spectrakit da.spectral.power('time') (xarray in and out)",
        "spectrakit on device": "on the device alone (core.periodogram of a GPU tensor)",
        "host->device copy": "the input's host->device copy alone",
        "host->device copy, pinned": "the same copy from pinned memory",
        "xrft.power_spectrum": "xrft.power_spectrum(real_dim='time', detrend='constant', window=None)",
        "xrft.power_spectrum two-sided": "xrft.power_spectrum two-sided (its default; folded) [reference]",
        "scipy.signal.periodogram": "scipy.signal.periodogram(x, fs)",
        f"scipy.signal.periodogram, scipy.fft workers={workers}":
            f"  same, inside scipy.fft.set_workers({workers}) [reference: every core]",
    }
    xrft, why = import_xrft()
    skipped = {}
    if xrft is None:
        skipped = {k: {"skipped": why} for k in ("xrft.power_spectrum", "xrft.power_spectrum two-sided")}
    else:
        entries["xrft.power_spectrum"] = lambda: xrft.power_spectrum(
            da, dim="time", real_dim="time", detrend="constant", window=None, scaling="density")
        entries["xrft.power_spectrum two-sided"] = lambda: xrft.power_spectrum(
            da, dim="time", detrend="constant", window=None, scaling="density")
    entries["scipy.signal.periodogram"] = lambda: scipy.signal.periodogram(x, fs, axis=-1)
    entries[f"scipy.signal.periodogram, scipy.fft workers={workers}"] = with_workers(
        lambda: scipy.signal.periodogram(x, fs, axis=-1))
    results = run_interleaved(entries, repeats=args.repeats, device=args.device)
    results.update(skipped)
    P = results["spectrakit"].get("out")
    row = {"case": "periodogram", "sizes": dict(size), "peers": {}}
    if P is not None:
        f_ref = np.fft.rfftfreq(n, SPACING)  # scipy.signal.periodogram's frequencies
        row["freq_max_abs_diff"] = float(np.max(np.abs(P["freq_time"].values - f_ref)))
    if xrft is not None:
        row["xrft_version"] = getattr(xrft, "__version__", "unknown")
        out = results["xrft.power_spectrum"].get("out")
        if out is not None:
            row["xrft_output_dtype"] = str(out.dtype)
    refs = {
        "xrft.power_spectrum": as_numpy,
        "xrft.power_spectrum two-sided": lambda o: fold_two_sided(as_numpy(o), n),
        "scipy.signal.periodogram": lambda o: o[1],
        f"scipy.signal.periodogram, scipy.fft workers={workers}": lambda o: o[1],
    }
    report(args, row, results, labels, as_numpy(P) if P is not None else None, refs)
    return row


def case_welch(args, size) -> dict:
    da = signal_data(size["channels"], size["samples"], args.seed, args.dtype)
    x, n, fs, nperseg = da.values, size["samples"], 1.0 / SPACING, size["nperseg"]
    nseg = (n - nperseg) // (nperseg // 2) + 1
    say(f"[welch] {da.sizes['channel']} x {n} {args.dtype} along time, nperseg={nperseg} (Hann, "
        f"noverlap={nperseg // 2}: {nseg} segments), spectrakit on {args.device}; scipy on the CPU; "
        f"{args.repeats} interleaved rounds after a warm-up")
    workers = os.cpu_count()
    entries = {"spectrakit": lambda: da.spectral.power("time", method="welch", nperseg=nperseg,
                                                        device=args.device, dtype=args.dtype)}
    entries.update(device_entries(args, x, lambda t: core.welch(t, fs, nperseg=nperseg)[1]))
    entries["scipy.signal.welch"] = lambda: scipy.signal.welch(x, fs, nperseg=nperseg, axis=-1)
    entries[f"scipy.signal.welch, scipy.fft workers={workers}"] = with_workers(
        lambda: scipy.signal.welch(x, fs, nperseg=nperseg, axis=-1))
    labels = {
        "spectrakit": f"spectrakit da.spectral.power('time', method='welch', nperseg={nperseg})",
        "spectrakit on device": "on the device alone (core.welch of a GPU tensor)",
        "host->device copy": "the input's host->device copy alone",
        "host->device copy, pinned": "the same copy from pinned memory",
        "scipy.signal.welch": f"scipy.signal.welch(x, fs, nperseg={nperseg})",
        f"scipy.signal.welch, scipy.fft workers={workers}":
            f"  same, inside scipy.fft.set_workers({workers}) [reference: every core]",
    }
    results = run_interleaved(entries, repeats=args.repeats, device=args.device)
    P = results["spectrakit"].get("out")
    row = {"case": "welch", "sizes": {**size, "nseg": nseg}, "peers": {}}
    if P is not None:
        row["freq_max_abs_diff"] = float(np.max(np.abs(P["freq_time"].values - np.fft.rfftfreq(nperseg, SPACING))))
    refs = {name: (lambda o: o[1]) for name in entries if name.startswith("scipy")}
    report(args, row, results, labels, as_numpy(P) if P is not None else None, refs)
    return row


# ----------------------------------------------------------------------------- profile


def _onesided_factor(nfreq: int, nfft: int, scale: float, dtype, device) -> torch.Tensor:
    """``scale`` times scipy's one-sided doubling (2 except at 0 and an even Nyquist)."""
    f = torch.full((nfreq,), 2.0 * scale, dtype=dtype, device=device)
    f[0] = scale
    if nfft % 2 == 0:
        f[-1] = scale
    return f


def over_blocks(n_rows: int, rows: int, work, threads: int) -> None:
    """Call ``work(i)`` for each block start ``i`` of ``rows`` rows.

    ``threads`` > 1 (CPU): the blocks are spread over that many Python threads, each
    running its block's torch ops with ONE intra-op thread (torch releases the GIL inside
    its kernels). Parallelism is then per block, not per op: no OpenMP barrier after every
    small op, which stalls when another process holds a core.
    """
    starts = range(0, n_rows, rows)
    if threads <= 1:
        for i in starts:
            work(i)
        return
    from concurrent.futures import ThreadPoolExecutor

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, starts))
    finally:
        torch.set_num_threads(old)


def blocked_periodogram(x: torch.Tensor, fs: float, rows: int, threads: int = 1) -> torch.Tensor:
    """Prototype (not spectrakit's code): core.periodogram's arithmetic (boxcar window,
    constant detrend, density, one-sided) over ``rows`` channels at a time, into one
    preallocated result, squaring and scaling in place (scale and one-sided doubling in
    one vector). Temporaries are a few MB: glibc reuses them (no page faults) and they
    stay in cache."""
    n = x.shape[-1]
    out = torch.empty(x.shape[:-1] + (n // 2 + 1,), dtype=x.dtype, device=x.device)
    factor = _onesided_factor(n // 2 + 1, n, 1.0 / (fs * n), x.dtype, x.device)

    def work(i):
        xb = x[i : i + rows]
        X = torch.fft.rfft(xb - xb.mean(-1, keepdim=True))
        o = out[i : i + rows]
        torch.mul(X.real, X.real, out=o)
        o.addcmul_(X.imag, X.imag).mul_(factor)

    over_blocks(x.shape[0], rows, work, threads)
    return out


def blocked_welch(x: torch.Tensor, fs: float, nperseg: int, rows: int, threads: int = 1) -> torch.Tensor:
    """Prototype (not spectrakit's code): core.welch's arithmetic (Hann, half overlap,
    constant detrend, density, mean) over ``rows`` channels at a time; detrend and window
    in one temporary, the segment average before the scaling."""
    win = core.get_window("hann", nperseg, device=x.device, dtype=x.dtype)
    factor = _onesided_factor(nperseg // 2 + 1, nperseg, 1.0 / (fs * float((win * win).sum())), x.dtype, x.device)
    out = torch.empty(x.shape[:-1] + (nperseg // 2 + 1,), dtype=x.dtype, device=x.device)

    def work(i):
        seg = x[i : i + rows].unfold(-1, nperseg, nperseg // 2)
        X = torch.fft.rfft((seg - seg.mean(-1, keepdim=True)).mul_(win))
        torch.mean(X.real.square().addcmul_(X.imag, X.imag), dim=-2, out=out[i : i + rows])

    over_blocks(x.shape[0], rows, work, threads)
    return out.mul_(factor)


def minor_faults(fn, device: str) -> int:
    """Minor page faults (new memory touched) during one call of ``fn``; -1 if unknown."""
    try:
        import resource
    except ImportError:  # not POSIX
        return -1
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    synchronize(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def with_threads(n: int, fn):
    """``fn`` with ``n`` torch intra-op threads (restored after)."""
    def run():
        old = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return fn()
        finally:
            torch.set_num_threads(old)
    return run


THP_SNIPPET = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
import torch
from spectrakit.core import fourier as core
channels, samples, nperseg, repeats = (int(v) for v in sys.argv[2:6])
x = torch.randn(channels, samples, dtype=getattr(torch, sys.argv[6]))
out = {}
for name, fn in (("core.periodogram", lambda: core.periodogram(x, 1000.0)),
                 ("core.welch", lambda: core.welch(x, 1000.0, nperseg=nperseg))):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    out[name] = {"best_s": min(times), "minor_page_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0}
print(json.dumps(out))
"""


def thp_subprocesses(args, size) -> dict:
    """core.periodogram and core.welch in fresh processes with PyTorch's
    THP_MEM_ALLOC_ENABLE unset and set to 1 (it is read once, at the process's first CPU
    allocation, so it cannot be switched inside this one)."""
    import subprocess

    repo = str(Path(__file__).resolve().parents[1])
    cmd = [sys.executable, "-c", THP_SNIPPET, repo, str(size["channels"]), str(size["samples"]), str(size["nperseg"]),
           str(args.repeats), args.dtype]
    out = {}
    for label, value in (("unset", None), ("1", "1"), ("unset again", None)):
        env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
        if value:
            env["THP_MEM_ALLOC_ENABLE"] = value
        try:
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=True)
            out[label] = json.loads(res.stdout.strip().splitlines()[-1])
        except (subprocess.SubprocessError, ValueError, IndexError) as exc:
            out[label] = {"error": f"{type(exc).__name__}: {exc}"}
            say(f"    THP_MEM_ALLOC_ENABLE={label}: FAILED {out[label]['error']}")
            continue
        say(f"    THP_MEM_ALLOC_ENABLE={label:12s} " + "   ".join(
            f"{k} {fmt_s(v['best_s'])} (faults {v['minor_page_faults']})" for k, v in out[label].items()))
    return out


def case_profile(args, size) -> dict:
    """Where spectrakit's time goes, step by step, on the same data as the cases.

    Each group's stages run interleaved (one call of each per round), so that they are
    compared under the same conditions; the minor page faults of one more call of each
    (a 4 KiB page of new memory touched for the first time) do not depend on the load.
    """
    from spectrakit.core.checks import check_finite

    dev = args.device
    da = signal_data(size["channels"], size["samples"], args.seed, args.dtype)
    x, n, fs, nperseg = da.values, size["samples"], 1.0 / SPACING, size["nperseg"]
    nseg = (n - nperseg) // (nperseg // 2) + 1
    tdt = getattr(torch, args.dtype)
    threads = torch.get_num_threads()
    say(f"[profile] spectrakit's steps on {dev}, {da.sizes['channel']} x {n} {args.dtype}; torch threads {threads}; "
        f"each group: {args.repeats} interleaved rounds after a warm-up; 'faults': minor page faults of one more "
        f"call (new memory touched: ~32800 per 128 MiB in 4 KiB pages; independent of the load)")
    _, P_ref = scipy.signal.periodogram(x, fs, axis=-1)
    _, W_ref = scipy.signal.welch(x, fs, nperseg=nperseg, axis=-1)
    t_host = torch.from_numpy(x)
    t = t_host.to(dev)
    groups = {}

    def group(title: str, entries: dict, refs: dict | None = None, peer: str | None = None) -> dict:
        refs = refs or {}
        say(f"  {title}")
        results = run_interleaved(entries, repeats=args.repeats, device=dev)
        t_peer = results.get(peer, {}).get("times", {}).get("best_s")
        out = {}
        for name, r in results.items():
            if "error" in r:
                e = r["error"]
                out[name] = {"error": e}
                say(f"    {name:76s} FAILED {e['type']}: {e['message']}")
                continue
            entry = {"times": r["times"], "minor_page_faults": minor_faults(entries[name], dev)}
            msg = (f"    {name:76s} {fmt_s(r['times']['best_s']):>9s} (median {fmt_s(r['times']['median_s']):>9s})"
                   f"  faults {entry['minor_page_faults']:>6d}")
            if t_peer:
                entry["peer / this"] = t_peer / r["times"]["best_s"]
                msg += f"  scipy/this {fmt_ratio(entry['peer / this']):>6s}"
            if name in refs:
                entry["max_rel_diff_vs_scipy"] = max_rel_diff(r["out"], refs[name])
                msg += f"  max rel diff vs scipy {entry['max_rel_diff_vs_scipy']:.1e}"
            out[name] = entry
            say(msg)
        del results
        groups[title] = out
        return out

    def best(g: dict, name: str):
        return g.get(name, {}).get("times", {}).get("best_s")

    # 1. the layers: xarray, conversion, core
    from spectrakit.xr import fourier as xr_fourier

    params = {"window": "boxcar", "nfft": None, "detrend": "constant", "return_onesided": True, "scaling": "density"}
    e2e, block, core_name = "da.spectral.power('time') (end to end)", "xr.fourier._power_block (conversion + core, no xarray)", \
        "core.periodogram(tensor)"
    entries = {
        e2e: lambda: da.spectral.power("time", device=dev, dtype=args.dtype),
        block: lambda: xr_fourier._power_block(x, method="periodogram", naxes=1, fs=(fs,), params=params, shifts=(False,),
                                               label="x", device=dev, dtype=args.dtype),
        core_name: lambda: core.periodogram(t, fs)[1],
    }
    if args.dtype == "float32":
        entries["da.spectral.power('time') with the default dtype (float64, DESIGN's rule)"] = (
            lambda: da.spectral.power("time", device=dev))
    entries["scipy.signal.periodogram (the peer)"] = lambda: scipy.signal.periodogram(x, fs, axis=-1)[1]
    g = group("periodogram, by layer", entries, {e2e: P_ref, block: P_ref, core_name: P_ref},
              peer="scipy.signal.periodogram (the peer)")
    if best(g, e2e) and best(g, block) and best(g, core_name):
        g["derived"] = {"xarray_s": best(g, e2e) - best(g, block), "conversion_s": best(g, block) - best(g, core_name)}
        say(f"    derived: xarray (apply_ufunc, coords, attrs) {fmt_s(g['derived']['xarray_s'])}, conversion and finite "
            f"check {fmt_s(g['derived']['conversion_s'])} (differences of best times)")

    # 2. conversion and checks
    entries = {}
    if hasattr(xr_fourier, "_block_tensor"):
        entries["xr.fourier._block_tensor (the power path's conversion + check)"] = (
            lambda: xr_fourier._block_tensor(x, "x", dev, args.dtype))
    entries["core.checks.check_finite(tensor): (~isfinite(t)).sum() (bridge.to_tensor)"] = lambda: check_finite(t_host, "x")
    entries["torch.isfinite(t).all()"] = lambda: bool(torch.isfinite(t_host).all())
    entries["bool(torch.isfinite(t.sum()))"] = lambda: bool(torch.isfinite(t_host.sum()))
    entries["np.isfinite(x).all()"] = lambda: bool(np.isfinite(x).all())
    if args.dtype == "float32":
        entries["float32 -> float64 copy (the default dtype)"] = lambda: t_host.to(torch.float64)
    group("conversion and finite checks (host array)", entries)

    # 3. the periodogram's steps, as core runs them (detrend, rfft, |X|^2, scale in place)
    d = t - t.mean(-1, keepdim=True)
    X = torch.fft.rfft(d)
    P = X.real.square().add_(X.imag.square())
    factor = _onesided_factor(P.shape[-1], n, 1.0 / (fs * n), P.dtype, P.device)
    entries = {
        "detrend: x - x.mean(-1)": lambda: t - t.mean(-1, keepdim=True),
        "torch.fft.rfft (of the detrended copy)": lambda: torch.fft.rfft(d),
        "|X|^2: X.real.square().add_(X.imag.square())": lambda: X.real.square().add_(X.imag.square()),
        "scale and one-sided doubling: P * factor (a new array)": lambda: P * factor,
        "  same in place: P.mul_(c)": lambda: P.mul_(1.0),
        "cost of a new array alone: x * 2": lambda: t * 2,
        "  into a reused buffer: torch.mul(x, 2, out=buf)": (lambda buf: lambda: torch.mul(t, 2, out=buf))(torch.empty_like(t)),
    }
    if dev == "cpu":
        entries["torch.fft.rfft with 1 torch thread"] = with_threads(1, lambda: torch.fft.rfft(d))
        entries["reference: numpy.fft.rfft (pocketfft, 1 thread)"] = lambda: np.fft.rfft(x)
        entries["reference: scipy.fft.rfft (1 worker)"] = lambda: scipy.fft.rfft(x)
        entries[f"reference: scipy.fft.rfft(workers={os.cpu_count()})"] = lambda: scipy.fft.rfft(x, workers=os.cpu_count())
    group("periodogram, step by step", entries)
    del d, X, P

    # 4. Welch's steps
    seg = t.unfold(-1, nperseg, nperseg // 2)
    w = core.get_window("hann", nperseg, device=t.device, dtype=tdt)
    d = seg - seg.mean(-1, keepdim=True)
    dw = d * w
    X = torch.fft.rfft(dw)
    P = X.real.square().add_(X.imag.square())
    entries = {
        f"detrend the {nseg} overlapping segments (materializes 2x the input)": lambda: seg - seg.mean(-1, keepdim=True),
        "* Hann window (a new array)": lambda: d * w,
        "torch.fft.rfft of the segments": lambda: torch.fft.rfft(dw),
        "|X|^2 in place of one temporary": lambda: X.real.square().add_(X.imag.square()),
        "scale in place (all segments)": lambda: P.mul_(1.0),
        "mean over segments": lambda: P.mean(dim=-2),
    }
    if dev == "cpu":
        segs = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(x, nperseg, axis=-1)[..., :: nperseg // 2, :])
        entries["reference: scipy.fft.rfft of the same segments (1 worker)"] = lambda: scipy.fft.rfft(segs)
    group("welch, step by step", entries)
    del seg, d, dw, X, P, entries

    # 5. head to head: core as it is, the prototypes, scipy
    # blocks of at most 4 MiB of complex spectrum (periodogram) or of segments (Welch): under
    # glibc's largest mmap threshold (32 MiB), so freed blocks are reused, not unmapped
    item = t.element_size()
    prow = min(t.shape[0], max(1, 2**22 // ((n // 2 + 1) * 2 * item)))  # 16 rows of 65536 in float32
    wrow = min(t.shape[0], max(1, 2**22 // (nseg * nperseg * item)))  # 8 rows (31 x 4096) in float32
    for what, entries, ref in (
        ("periodogram", {
            "core.periodogram (as it is)": lambda: core.periodogram(t, fs)[1],
            "prototype: in place, whole array": lambda: blocked_periodogram(t, fs, t.shape[0]),
            f"prototype: {prow} channels per block, {threads} intra-op threads": lambda: blocked_periodogram(t, fs, prow),
        }, P_ref),
        ("welch", {
            "core.welch (as it is)": lambda: core.welch(t, fs, nperseg=nperseg)[1],
            "prototype: in place, whole array": lambda: blocked_welch(t, fs, nperseg, t.shape[0]),
            f"prototype: {wrow} channels per block, {threads} intra-op threads": lambda: blocked_welch(t, fs, nperseg, wrow),
        }, W_ref),
    ):
        if dev == "cpu" and threads > 1:
            label = f"prototype: {prow if what == 'periodogram' else wrow} channels per block, 1 intra-op thread, blocks over {threads} threads"
            entries[label] = ((lambda: blocked_periodogram(t, fs, prow, threads)) if what == "periodogram"
                              else (lambda: blocked_welch(t, fs, nperseg, wrow, threads)))
        peer = f"scipy.signal.{what} (the peer)"
        entries[peer] = ((lambda: scipy.signal.periodogram(x, fs, axis=-1)[1]) if what == "periodogram"
                         else (lambda: scipy.signal.welch(x, fs, nperseg=nperseg, axis=-1)[1]))
        group(f"head to head, {what}", entries, {k: ref for k in entries if k != peer}, peer=peer)
    del t
    result = {"case": "profile", "sizes": dict(size), "groups": groups}
    if dev == "cpu":
        say("  torch's CPU allocator with transparent huge pages (fresh processes, torch.randn data of the same size; "
            f"best of {args.repeats})")
        result["THP_MEM_ALLOC_ENABLE"] = thp_subprocesses(args, size)
    return result


RUNNERS = {"periodogram": case_periodogram, "welch": case_welch, "profile": case_profile}


# ------------------------------------------------------------------------------ summary


def targets_met(row: dict, device: str) -> dict:
    out = {}
    for peer_name, target in TARGETS.get((row["case"], device), {}).items():
        key = f"{peer_name} / spectrakit"
        p = row["peers"].get(peer_name, {})
        if "ratio" not in p and peer_name.startswith("xrft") and "ratio" in row["peers"].get(STAND_IN, {}):
            # no xrft here (the GPU machine) or it failed: scipy computes the same spectrum on the
            # same CPU at about xrft's speed (xrft / scipy ~ 1.05 on the project's 2-core machine)
            why = "not installed" if "skipped" in p else "failed"
            key = f"{STAND_IN} (stand-in for xrft, {why}) / spectrakit"
            p = row["peers"][STAND_IN]
        if "ratio" not in p:
            out[key] = {"target": f">= {target}x", "value": None, "met": None,
                        "why": p.get("skipped") or (p.get("error") or {}).get("type", "not run")}
            continue
        out[key] = {"target": f">= {target}x", "value": p["ratio"], "met": bool(p["ratio"] >= target)}
        if device == "cuda":
            on_dev = p["ratio_on_device"]
            out[key + " (on device)"] = {"target": f">= {target}x", "value": on_dev, "met": bool(on_dev >= target)}
    return out


def print_table(rows: list[dict], device: str) -> None:
    lines = [("case", "spectrakit", "peer", "peer time", "ratio", "target", "agree (max rel diff)")]
    for row in rows:
        case = row["case"]
        if case == "profile":
            continue
        t = row["times"]
        ours = fmt_s(t["spectrakit"]["best_s"])
        if device == "cuda":
            ours += f" (device {fmt_s(t['spectrakit on device']['best_s'])})"
        first = True
        for name, p in row["peers"].items():
            target = TARGETS.get((case, device), {}).get(name)
            tgt = f">= {target:g}x" if target else ("(reference)" if "two-sided" in name or "workers" in name else "")
            xrft_target = TARGETS.get((case, device), {}).get("xrft.power_spectrum")
            if name == STAND_IN and xrft_target and "ratio" not in row["peers"].get("xrft.power_spectrum", {}):
                tgt = f">= {xrft_target:g}x (for xrft)"
            if "skipped" in p:
                cells = (name, "skipped", "", tgt, "")
            elif "error" in p:
                cells = (name, f"FAILED: {p['error']['type']}", "", tgt, "")
            else:
                ratio = fmt_ratio(p["ratio"])
                if device == "cuda":
                    ratio += f" (device {fmt_ratio(p['ratio_on_device'])})"
                a = p["agreement"]
                cells = (name, fmt_s(p["times"]["best_s"]), ratio, tgt,
                         f"{'ok' if a['agree'] else 'NO'}({a['max_rel_diff']:.0e})")
            lines.append((case if first else "", ours if first else "") + cells)
            first = False
    print_columns(lines)


def environment(args) -> dict:
    xrft, _ = import_xrft()
    env = base_environment(
        args, scipy=scipy.__version__, xarray=xr.__version__,
        xrft=getattr(xrft, "__version__", "unknown") if xrft else None,
    )
    # PyTorch's switch for transparent huge pages on large CPU allocations (see the profile)
    env["THP_MEM_ALLOC_ENABLE"] = os.environ.get("THP_MEM_ALLOC_ENABLE")
    return env


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where spectrakit computes (peers always run on the CPU)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="dtype of the data; spectrakit and scipy compute in it (xrft promotes to float64)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test in seconds")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="folder for fourier[_cuda][_float64][_quick].json (default benchmarks/results/)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), metavar="CASE",
                        help=f"cases to run (default all): {' '.join(CASES)}")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed rounds after one warm-up; each round calls every tool once (best is reported)")
    parser.add_argument("--size", type=int, nargs=2, metavar=("CHANNELS", "SAMPLES"), default=None,
                        help="override the array's size (default 512 65536; 32 8192 with --quick)")
    parser.add_argument("--nperseg", type=int, default=None, help="Welch segment length (default 4096; 1024 with --quick)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads(N) before timing (default: torch's own choice)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch.cuda.is_available() is False on this machine.", file=sys.stderr)
        return 2
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    size = dict(SIZES["quick" if args.quick else "full"])
    if args.size:
        size["channels"], size["samples"] = args.size
    if args.nperseg:
        size["nperseg"] = args.nperseg
    env = environment(args)
    v = env["versions"]
    say(f"spectrakit {v['spectrakit']}, torch {v['torch']}, numpy {v['numpy']}, scipy {v['scipy']}, "
        f"xarray {v['xarray']}, xrft {v['xrft'] or 'not installed'}; {env['cpu_count']} CPUs, torch threads "
        f"{env['torch_threads']}; device {args.device}{' (' + env['gpu'] + ')' if 'gpu' in env else ''}, "
        f"dtype {args.dtype}{', QUICK sizes' if args.quick else ''}")
    say(f"timing: time.perf_counter{', torch.cuda.synchronize() around GPU timings' if args.device == 'cuda' else ''}; "
        f"best of {args.repeats} interleaved rounds after 1 warm-up call of each tool")
    say()
    rows = []
    for case in CASES:
        if case in args.cases:
            row = RUNNERS[case](args, size)
            if case != "profile":
                row["targets"] = targets_met(row, args.device)
            rows.append(row)
            say()
    if any(row["case"] != "profile" for row in rows):
        print_table(rows, args.device)
    for row in rows:
        for key, tgt in row.get("targets", {}).items():
            state = "n/a" if tgt["met"] is None else ("met" if tgt["met"] else "MISSED")
            value = f"{tgt['value']:.2f}x" if tgt["value"] is not None else tgt.get("why", "")
            say(f"target {row['case']}: {key} {tgt['target']}: {value} -> {state}")
    if hasattr(os, "getloadavg"):
        env["load_average_end"] = os.getloadavg()
        say(f"load average (1, 5, 15 min) at start {tuple(round(v, 2) for v in env['load_average_start'])}, "
            f"at end {tuple(round(v, 2) for v in env['load_average_end'])} on {env['cpu_count']} CPUs")
    args.out.mkdir(parents=True, exist_ok=True)
    # one file per configuration: a smoke or float64 run never overwrites the float32 numbers
    name = "fourier" + ("_cuda" if args.device == "cuda" else "") + ("_float64" if args.dtype == "float64" else "")
    out_file = args.out / (name + ("_quick" if args.quick else "") + ".json")
    out_file.write_text(json.dumps({"environment": env, "cases": rows}, indent=2, default=str))
    say(f"\nwrote {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
