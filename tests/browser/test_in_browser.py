"""The live widgets in a real browser: JupyterLab, headless Chromium, Playwright.

One module, so every test shares one JupyterLab server and one Chromium (and, with
``--dist loadfile``, one worker). For the start-here notebook and every gallery notebook:

* all cells run (Run All) without an error output;
* nothing reaches the Log Console, stderr or the kernel process's stderr (no traceback,
  no warning), and no request leaves the machine;
* every explorer displayed has exactly one view;
* **the kernel is the authority**: 2 s after Run All the kernel still holds every value
  the notebook set and the page shows it (slider position and readout); then a value off
  the slider grid is set from code, and 2 s later kernel and page both show it;
* **payload**: plotly.js crosses the websocket once per page; the first explorer costs
  at most 6 MB to the page, each further one at most 1 MB;
* **sliders**: key presses on a slider of each explorer redraw one of its figures; each
  press's key-to-redraw latency is timed (median of >= 10 presses printed), and each
  redraw sends at most 200 kB to the page and 20 kB back.

The training explorer also streams: Pause while training answers within 300 ms with at
most one chunk after the click, and an lr key press applies from the next chunk on, each
over 10 trials (median and worst printed). The start-here notebook's link opens the
gallery (the server's root is laid out as the repository). Tables of every measure go to
the terminal (``-s``) and to ``artifacts/browser_report.json``.

Set SPECTRAKIT_UPDATE_SCREENSHOT=1 to copy the start-here screenshot to docs/explorer.png.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import statistics
import time

import pytest
from _lab import REPO
from _page import ARTIFACTS, NotebookPage, status_step

pytestmark = pytest.mark.browser

MB = 1_000_000
FIRST_EXPLORER_MAX = 6 * MB
FURTHER_EXPLORER_MAX = 1 * MB
REDRAW_TO_PAGE_MAX = 200_000
REDRAW_FROM_PAGE_MAX = 20_000
PAUSE_MAX_MS = 300
PRESSES = 10
TRIALS = 10
SURVIVE_S = 2.0

START_HERE = "notebooks/00_start_here.ipynb"
#: per notebook: (explorer, control to set from code), and the explorers and sliders to press
GALLERY = {
    "widgets/regularization_explorer.ipynb": dict(set=("explorer", "reg"), press=[("explorer", "reg")]),
    "widgets/spectrum_explorer.ipynb": dict(set=("explorer", "sobolev"),
                                            press=[("explorer", "reg"), ("series", "reg")]),
    "widgets/graph_spectrum_explorer.ipynb": dict(set=("moons", "bandwidth"),
                                                  press=[("moons", "bandwidth"), ("blocks", "n_clusters")]),
    "widgets/graph_filter_explorer.ipynb": dict(set=("explorer", "reg"), press=[("explorer", "reg"), ("heat", "reg")]),
    "widgets/learning_curve_explorer.ipynb": dict(set=("explorer", "alpha"), press=[("explorer", "reg")]),
    "widgets/training_explorer.ipynb": dict(set=("explorer", "lr"), press=[("explorer", "lr")]),
    "widgets/implicit_bias_explorer.ipynb": dict(set=("explorer", "lr"),
                                                 press=[("explorer", "init_scale"), ("hard_explorer", "init_scale")]),
    "widgets/representation_explorer.ipynb": dict(set=("explorer", "strength"), press=[("explorer", "strength")]),
    "widgets/weight_explorer.ipynb": dict(set=("explorer", "target"), press=[("explorer", "reg")]),
}
START_HERE_PROBE = dict(set=("explorer", "reg"), press=[("explorer", "reg")])

REPORT: dict[str, dict] = {}

# what the kernel knows of every explorer in the notebook's globals: its root's DOM class,
# the model ids of its widget tree (to count the bytes sent for it), its grid sliders
KERNEL_EXPLORERS = r"""
import html as _skh
import ipywidgets as _skw
from spectrakit.widgets._controls import ExplorerFront as _SkE
from spectrakit.widgets._figure import PlotlyLibrary as _SkL, plotly_library as _sk_library


def _sk_ids(w, seen):
    if not isinstance(w, _skw.Widget) or isinstance(w, _SkL) or w.model_id in seen:
        return
    seen.add(w.model_id)
    for name in w.keys:
        v = getattr(w, name, None)
        for x in (v if isinstance(v, (list, tuple)) else (v,)):
            _sk_ids(x, seen)


def _sk_css(w):
    return next((c for c in getattr(w, '_dom_classes', ()) if c.startswith('sk-')), None)


def _sk_state(ex):
    ids = set()
    _sk_ids(ex.widget, ids)
    return dict(kind=type(ex).__name__, root=ex.dom_class, model=ex.widget.model_id, ids=sorted(ids),
                chunk=getattr(ex, 'chunk', None), controls={k: _sk_css(c) for k, c in ex.controls.items()},
                sliders={k: dict(css=_sk_css(s.slider), readout_css=_sk_css(s.readout), position=s.slider.value,
                                 readout=_skh.unescape(s.readout.value), value=s.value)
                         for k, s in ex.sliders.items()})


_sk_out = dict(explorers={n: _sk_state(e) for n, e in list(globals().items())
                          if isinstance(e, _SkE) and not n.startswith('_')},
               library=_sk_library().model_id)
"""


def explorers(nb: NotebookPage) -> dict:
    return nb.kernel_json(KERNEL_EXPLORERS)


def shown(nb: NotebookPage, state: dict) -> dict:
    """Kernel and page side by side for every grid slider of every explorer."""
    rows = {}
    for name, ex in state["explorers"].items():
        classes = [c for s in ex["sliders"].values() for c in (s["css"], s["readout_css"])]
        page = nb.page_controls(ex["root"], classes) or {}
        for key, s in ex["sliders"].items():
            p_pos, p_text = page.get(s["css"]), page.get(s["readout_css"])
            rows[f"{name}.{key}"] = dict(
                kernel_value=s["value"], kernel_position=s["position"], kernel_readout=s["readout"],
                page_position=None if not p_pos else p_pos.get("position"),
                page_readout=None if not p_text else p_text.get("text"))
    return rows


def assert_page_shows_kernel(nb: NotebookPage, rows: dict, when: str) -> None:
    bad = {k: r for k, r in rows.items()
           if r["page_position"] != r["kernel_position"] or r["page_readout"] != r["kernel_readout"]}
    if bad:
        nb.fail(f"{when}: page and kernel disagree on {json.dumps(bad, indent=1)}")


def off_grid_value(nb: NotebookPage, name: str, key: str) -> float:
    """A value between two grid positions of a slider, a third of the way up its range."""
    return nb.kernel_json(
        f"_g = {name}.sliders[{key!r}]\n_k = _g.n_steps // 3\n"
        "_a, _b = _g.value_at(_k), _g.value_at(_k + 1)\n"
        "_sk_out = (_a * _b) ** 0.5 if _g.log else 0.5 * (_a + _b)")


def check_notebook(lab, browser, rel: str, probe: dict) -> dict:
    """Everything the module docstring lists, for one notebook; returns its report."""
    rep: dict = {"notebook": rel}
    with NotebookPage(lab, browser, rel) as nb:
        nb.open()
        state = nb.run_all()
        t_run = time.monotonic()
        info = explorers(nb)
        exps = info["explorers"]
        if not exps:
            nb.fail("no explorer in the notebook's globals")

        # one view per explorer (displayed ones; a notebook may keep one off screen)
        views: dict[str, int] = {}
        for v in state["views"]:
            views[v["model_id"]] = views.get(v["model_id"], 0) + 1
        displayed = {n: views.get(e["model"], 0) for n, e in exps.items()}
        rep["views"] = displayed
        if any(c > 1 for c in displayed.values()) or not any(displayed.values()):
            nb.fail(f"each explorer must be displayed once: views {displayed}")
        on_screen = {n: e for n, e in exps.items() if displayed[n]}

        # the kernel is the authority: 2 s with the page open after Run All changes nothing
        before = shown(nb, info)
        time.sleep(max(0.0, SURVIVE_S - (time.monotonic() - t_run)))
        after_info = explorers(nb)
        after = {k: v for k, v in shown(nb, after_info).items() if k.split(".")[0] in on_screen}
        moved = {k: (before[k]["kernel_value"], r["kernel_value"]) for k, r in after.items()
                 if r["kernel_value"] != before[k]["kernel_value"]}
        if moved:
            nb.fail(f"values set by the notebook changed {SURVIVE_S:.0f} s after Run All (page echo?): {moved}")
        assert_page_shows_kernel(nb, after, f"{SURVIVE_S:.0f} s after Run All")
        # the notebook as its reader sees it (before the probes below move anything)
        rep["screenshot"] = str(nb.screenshot(f"{os.path.basename(rel)[:-6]}.png",
                                              scroll_to=f".{exps[probe['press'][0][0]]['root']}"))

        # a value off the grid, set from code, survives the page
        name, key = probe["set"]
        value = off_grid_value(nb, name, key)
        nb.kernel(f"{name}.set({key}={value!r})\n{name}.flush()\nassert {name}.error is None, {name}.error")
        time.sleep(SURVIVE_S)
        rows = {k: v for k, v in shown(nb, explorers(nb)).items() if k.split(".")[0] in on_screen}
        got = rows[f"{name}.{key}"]["kernel_value"]
        if got != value:
            nb.fail(f"{name}.set({key}={value!r}): {SURVIVE_S:.0f} s later the kernel holds {got!r}")
        assert_page_shows_kernel(nb, rows, f"{SURVIVE_S:.0f} s after {name}.set({key}=...)")
        rep["set_from_code"] = dict(control=f"{name}.{key}", value=value, kernel=got,
                                    page_readout=rows[f"{name}.{key}"]["page_readout"], survived=True)

        # payload: plotly.js once; loading the first explorer (everything sent for its widgets
        # until its view is displayed) <= 6 MB, each further one <= 1 MB
        big = [f for f in nb.frames if f.to_page and f.size > MB]
        library = [f for f in nb.frames if f.to_page and f.comm_id == info["library"]]
        if len(big) > 1:
            nb.fail(f"{len(big)} messages over 1 MB reached the page (plotly.js must come once): "
                    f"{[(f.msg_type, f.size) for f in big]}")
        library_bytes = sum(f.size for f in library)
        order = sorted(exps, key=lambda n: int(exps[n]["root"].rsplit("-", 1)[1]))
        payload = {}
        for i, n in enumerate(order):
            ids = set(exps[n]["ids"])
            shown_at = next((k for k, f in enumerate(nb.frames) if f.view == exps[n]["model"]), None)
            if shown_at is None:
                continue  # kept off screen
            load = sum(f.size for f in nb.frames[:shown_at + 1] if f.to_page and f.comm_id in ids)
            load += library_bytes if i == 0 else 0
            later = sum(f.size for f in nb.frames[shown_at + 1:] if f.to_page and f.comm_id in ids)
            back = sum(f.size for f in nb.frames if not f.to_page and f.comm_id in ids)
            limit = FIRST_EXPLORER_MAX if i == 0 else FURTHER_EXPLORER_MAX
            payload[n] = dict(load=load, after_load=later, from_page=back, limit=limit)
            if load > limit:
                nb.fail(f"loading explorer {n} ({'first' if i == 0 else 'further'}) sent {load / MB:.2f} MB to the "
                        f"page (limit {limit / MB:.0f} MB)")
        rep["payload"] = dict(explorers=payload, plotly_js=library_bytes, library_messages=len(library),
                              total_to_page=sum(f.size for f in nb.frames if f.to_page),
                              total_from_page=sum(f.size for f in nb.frames if not f.to_page))

        # sliders: key presses redraw a figure; latency and bytes per redraw
        rep["sliders"] = {}
        for name, key in probe["press"]:
            ex = exps[name]
            css = ex["controls"][key]
            lat, to_page, from_page, pressed = nb.press(ex["root"], css, PRESSES)
            rep["sliders"][f"{name}.{key}"] = dict(
                kind=ex["kind"], key=pressed, median_ms=round(statistics.median(lat), 1),
                max_ms=round(max(lat), 1), latencies_ms=[round(x, 1) for x in lat],
                max_to_page=max(to_page), max_from_page=max(from_page))
            if max(to_page) > REDRAW_TO_PAGE_MAX or max(from_page) > REDRAW_FROM_PAGE_MAX:
                nb.fail(f"a redraw of {name} ({key}) sent {max(to_page) / 1e3:.0f} kB to the page and "
                        f"{max(from_page) / 1e3:.1f} kB back (limits 200 kB, 20 kB)")
        nb.mark("checks done")

        problems = nb.problems()
        if problems:
            nb.fail("tracebacks or warnings during the run:\n" + "\n".join(problems))
        if nb.external:
            nb.fail(f"requests left the machine: {nb.external[:5]}")
        rep["phases_s"] = dict(nb.phases)
    REPORT[rel] = rep
    return rep


# ---------------------------------------------------------------------------------- tests


def test_start_here(lab, browser):
    rep = check_notebook(lab, browser, START_HERE, START_HERE_PROBE)
    if os.environ.get("SPECTRAKIT_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(rep["screenshot"], REPO / "docs" / "explorer.png")


def test_start_here_links_to_the_gallery(lab, browser):
    """The README serves the repository root; start-here's gallery links must open."""
    with NotebookPage(lab, browser, START_HERE) as nb:
        nb.open()
        link = nb.page.locator(".jp-RenderedMarkdown a[href*='widgets/regularization_explorer.ipynb']")
        if link.count() < 1:
            nb.fail("no link to ../widgets/regularization_explorer.ipynb in the rendered markdown")
        link.first.scroll_into_view_if_needed()
        link.first.click()
        target = "widgets/regularization_explorer.ipynb"
        nb.wait_for("""(path) => { const p = window.__skFindPanel(path);
                       return !!(p && p.isVisible && p.context.isReady && p.node.querySelector('.jp-Cell')); }""",
                    target, 30, f"{target} to open from the link")
        dialog = nb.page.locator(".jp-Dialog")
        if dialog.count():
            nb.fail(f"a dialog opened with the gallery notebook: {dialog.first.inner_text()[:300]}")
        REPORT["gallery link"] = {"opened": target}


@pytest.mark.parametrize("rel", sorted(GALLERY))
def test_gallery_notebook(lab, browser, rel):
    check_notebook(lab, browser, rel, GALLERY[rel])


def test_streaming_pause_and_lr_while_training(lab, browser):
    """Pause and the lr slider answer while the training explorer streams."""
    rel = "widgets/training_explorer.ipynb"
    with NotebookPage(lab, browser, rel) as nb:
        nb.open()
        nb.run_all()
        ex = explorers(nb)["explorers"]["explorer"]
        root, chunk = ex["root"], ex["chunk"]
        nb.kernel("explorer.max_steps = 10**6\nexplorer.reset()")
        nb.page.locator(f".{root} .sk-status").scroll_into_view_if_needed()
        status = nb.page.locator(f".{root} .sk-status")

        def start_and_stream(min_chunks=2):
            s0 = status_step(status.inner_text())
            nb.page.locator(f".{root} .sk-start-button").click()
            nb.wait_for("""({root, s0, d}) => { const t = document.querySelector('.' + root + ' .sk-status').textContent;
                           const m = t.match(/step (\\d+)\\//);
                           return t.includes('running') && m && Number(m[1]) >= s0 + d; }""",
                        {"root": root, "s0": s0, "d": min_chunks * chunk}, 30, "training to stream")

        # the kernel's side of a Pause click: the step at which the click arrived (this
        # handler runs where it arrives, before the explorer's own one reaches the loop)
        nb.kernel("_sk_clicked = []\n"
                  "explorer.controls['pause'].on_click(lambda b: _sk_clicked.append(explorer.session.step))")
        frames_before = len(nb.frames)
        pause_ms, pause_chunks, pause_steps = [], [], []
        for _ in range(TRIALS):
            start_and_stream()
            res = nb.status_change(root, "paused", click=".sk-pause-button")
            if res is None:
                nb.fail("Pause did not show 'paused' within 5 s")
            clicked_at, paused_at = status_step(res["before"]), status_step(res["text"])
            time.sleep(0.3)
            final = status_step(status.inner_text())
            if final != paused_at:
                nb.fail(f"training went on after 'paused' was shown: step {paused_at} then {final}")
            pause_ms.append(res["ms"])
            pause_steps.append(paused_at)
            pause_chunks.append((paused_at - clicked_at) / chunk)  # page side: after the step it showed
        streamed = nb.frames[frames_before:]
        arrived = nb.kernel_json("_sk_out = _sk_clicked")
        if len(arrived) != TRIALS:
            nb.fail(f"{TRIALS} Pause clicks, {len(arrived)} reached the kernel")
        pause_kernel_chunks = [(p - a) / chunk for p, a in zip(pause_steps, arrived)]

        # the kernel's side of an lr move: the step at which the page's message arrived (this
        # observer runs where it arrives, before the explorer's own handler takes it to the
        # training loop), against the step the new lr applied from
        nb.kernel("_sk_arrived = []\n"
                  "explorer.controls['lr'].observe(lambda ch: _sk_arrived.append(explorer.session.step), names='value')")
        lr_ms, lr_steps = [], []
        start_and_stream()
        handle = nb.page.locator(f".{root} .sk-lr-slider .noUi-handle")
        handle.scroll_into_view_if_needed()
        handle.focus()
        for i in range(TRIALS):
            res = nb.status_change(root, r"lr = [0-9.e+-]+ from step \d+ on", key=("ArrowLeft", "ArrowRight")[i % 2])
            if res is None:
                nb.fail("an lr key press while training did not show in the status line within 5 s")
            m = re.search(r"lr = ([0-9.e+-]+) from step (\d+) on", res["text"])
            pressed_at, applied_from = status_step(res["before"]), int(m.group(2))
            lr_ms.append(res["ms"])
            lr_steps.append(dict(lr=float(m.group(1)), from_step=applied_from, shown_at_press=pressed_at,
                                 page_chunks_later=(applied_from - pressed_at) / chunk))
            nb.page.wait_for_timeout(150)
        nb.page.locator(f".{root} .sk-pause-button").click()
        nb.wait_for(f"() => document.querySelector('.{root} .sk-status').textContent.includes('paused')", None,
                    10, "the last pause")
        # the kernel's record: each new lr was in force from the step after the one the note
        # names, and that step ends the chunk during which the move arrived
        recorded = nb.kernel_json(
            "_h = explorer.session.history['lr']\n"
            f"_sk_out = [[float(_h.sel(step=s + 1)) for s in {[r['from_step'] for r in lr_steps]!r}], _sk_arrived]")
        for r, lr, arrived in zip(lr_steps, *recorded):
            if not math.isclose(lr, r["lr"], rel_tol=5e-3):
                nb.fail(f"the status said lr = {r['lr']} from step {r['from_step']}, the history has {lr}")
            r["arrived_at"], r["chunks_later"] = arrived, (r["from_step"] - arrived) / chunk
        if len(recorded[1]) != TRIALS:
            nb.fail(f"{TRIALS} key presses, {len(recorded[1])} lr moves reached the kernel")
        problems = nb.problems()
        if problems:
            nb.fail("tracebacks or warnings while streaming:\n" + "\n".join(problems))

    back = [f.size for f in streamed if not f.to_page]
    REPORT["streaming"] = dict(
        chunk=chunk,
        pause_ms=dict(median=round(statistics.median(pause_ms), 1), worst=round(max(pause_ms), 1),
                      trials=[round(x, 1) for x in pause_ms]),
        pause_chunks_after_click=pause_kernel_chunks,
        pause_page_chunks_after_click=pause_chunks,
        lr_ms=dict(median=round(statistics.median(lr_ms), 1), worst=round(max(lr_ms), 1),
                   trials=[round(x, 1) for x in lr_ms]),
        lr_chunks_later=[r["chunks_later"] for r in lr_steps],
        lr_page_chunks_later=[r["page_chunks_later"] for r in lr_steps],
        largest_message_from_page=max(back, default=0),
        to_page_while_streaming=sum(f.size for f in streamed if f.to_page),
    )
    assert max(pause_ms) <= PAUSE_MAX_MS, f"Pause took {max(pause_ms):.0f} ms (limit {PAUSE_MAX_MS}): {pause_ms}"
    # at most one chunk after the click: the one running when it reached the kernel
    assert all(0 <= c <= 1 for c in pause_kernel_chunks), f"more than one chunk after the click: {pause_kernel_chunks}"
    # from the next chunk on: applied at the end of the chunk during which the move arrived
    assert all(0 <= r["chunks_later"] <= 1 for r in lr_steps), f"lr applied later than the next chunk: {lr_steps}"
    assert max(back, default=0) <= REDRAW_FROM_PAGE_MAX, f"a page message of {max(back)} bytes while streaming"


@pytest.fixture(scope="module", autouse=True)
def report():
    """Print the measured tables at the end of the module and keep them as an artifact."""
    yield
    if not REPORT:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "browser_report.json").write_text(json.dumps(REPORT, indent=1) + "\n")
    lines = ["", "[browser] set from code, 2 s with the page open:"]
    for rel, r in REPORT.items():
        if "set_from_code" in r:
            s = r["set_from_code"]
            lines.append(f"  {rel:45s} {s['control']:22s} {s['value']:.6g} -> kernel {s['kernel']:.6g}, "
                         f"page {html.escape(str(s['page_readout']))}: survived")
    lines.append("[browser] slider key -> redraw (ms, median / worst of %d presses), bytes per redraw:" % PRESSES)
    for rel, r in REPORT.items():
        for ctl, s in r.get("sliders", {}).items():
            lines.append(f"  {rel:45s} {ctl:24s} {s['kind']:24s} {s['median_ms']:7.1f} / {s['max_ms']:7.1f}   "
                         f"to page {s['max_to_page'] / 1e3:6.1f} kB, back {s['max_from_page'] / 1e3:5.2f} kB")
    lines.append("[browser] bytes to the page per explorer (the first's load includes plotly.js), and back:")
    for rel, r in REPORT.items():
        p = r.get("payload")
        if p:
            parts = ", ".join(f"{n} load {v['load'] / MB:.2f} MB (then {v['after_load'] / MB:.2f} MB of updates), "
                              f"back {v['from_page'] / 1e3:.1f} kB" for n, v in p["explorers"].items())
            lines.append(f"  {rel:45s} plotly.js {p['plotly_js'] / MB:.2f} MB x{p['library_messages']}; {parts}")
    if "streaming" in REPORT:
        s = REPORT["streaming"]
        lines.append(f"[browser] streaming (chunk {s['chunk']}): Pause -> 'paused' median {s['pause_ms']['median']} ms, "
                     f"worst {s['pause_ms']['worst']} ms, chunks after the click reached the kernel "
                     f"{s['pause_chunks_after_click']} (after the step the page showed: {s['pause_page_chunks_after_click']}); "
                     f"lr key -> applied median {s['lr_ms']['median']} ms, worst {s['lr_ms']['worst']} ms, "
                     f"chunks after the move reached the kernel {s['lr_chunks_later']} (after the step the page "
                     f"showed: {s['lr_page_chunks_later']}); largest page message "
                     f"{s['largest_message_from_page']} B")
    print("\n".join(lines))
