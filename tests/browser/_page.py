"""Driving one notebook in JupyterLab through Playwright, and measuring what crosses the
websocket: :class:`NotebookPage`.

Test plumbing only. It opens a notebook in a fresh browser context, runs its cells, asks
the kernel questions (``requestExecute`` on the notebook's own kernel connection), reads
what the page shows (widget DOM, plotly's ``el.data``), and records:

* every kernel websocket frame, each way, with its size and the message it carries
  (channel, type, parent's type, comm id), parsed from Jupyter's v1 websocket protocol;
* every iopub message that would land in JupyterLab's Log Console or is a traceback or a
  warning (``stream`` on stderr, ``error``, or output of a comm message);
* page errors, console errors and any request to a host other than the server (none may
  leave the machine: plotly.js must come from the installed package).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"


@dataclass
class Frame:
    """One websocket frame of a kernel connection."""

    t: float  # time.monotonic() when seen
    to_page: bool
    size: int
    channel: str | None
    msg_type: str | None
    parent_type: str | None
    comm_id: str | None
    view: str | None  # the model id of a widget view this message displays


def _parse(payload) -> tuple:
    """(channel, msg_type, parent msg_type, comm_id, displayed widget model id) of a frame;
    Nones where unreadable."""
    try:
        if isinstance(payload, str):  # the JSON protocol
            msg = json.loads(payload)
            channel, header, parent, content = (msg.get("channel"), msg.get("header", {}),
                                                msg.get("parent_header", {}), msg.get("content", {}))
        else:  # v1.kernel.websocket.jupyter.org: n, n offsets, channel, header, parent, metadata, content, buffers
            b = bytes(payload)
            n = int.from_bytes(b[:8], "little")
            offs = [int.from_bytes(b[8 + 8 * i: 16 + 8 * i], "little") for i in range(n)]
            parts = [b[offs[i]: offs[i + 1]] for i in range(n - 1)]
            channel = parts[0].decode()
            header, parent = json.loads(parts[1] or b"{}"), json.loads(parts[2] or b"{}")
            content = json.loads(parts[4] or b"{}") if len(parts) > 4 else {}
        view = ((content.get("data") or {}).get("application/vnd.jupyter.widget-view+json") or {}).get("model_id")
        return channel, header.get("msg_type"), (parent or {}).get("msg_type"), content.get("comm_id"), view
    except Exception:  # noqa: BLE001 (a frame we cannot read is still counted)
        return None, None, None, None, None


# --------------------------------------------------------------------------------------
# page-side JavaScript (window.jupyterapp comes from --LabApp.expose_app_in_browser=True)

JS_SETUP = r"""
() => {
  window.__skFindPanel = (path) => {
    const app = window.jupyterapp;
    if (!app || !app.shell) return null;
    for (const w of Array.from(app.shell.widgets('main'))) {
      if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
    }
    return null;
  };
  // a cheap fingerprint of what a plot draws: its lines', bars' and heatmap images' geometry
  window.__skHash = (s) => { let h = 0; for (let i = 0; i < s.length; i += 7) h = (h * 31 + s.charCodeAt(i)) | 0;
                             return h + ':' + s.length; };
  window.__skDrawn = (root) => Array.from(root.querySelectorAll(
      '.js-plotly-plot .scatterlayer path, .js-plotly-plot .barlayer path, .js-plotly-plot .heatmaplayer image'))
    .map((e) => window.__skHash(e.getAttribute('d') || e.getAttribute('href') || '')).join('|');
  return true;
}
"""

# every code cell: pending (no execution count yet), error outputs, stderr outputs
JS_CELL_STATE = r"""
(path) => {
  const panel = window.__skFindPanel(path);
  if (!panel) return null;
  const cells = panel.content.model.cells;
  let code = 0, pending = 0;
  const errors = [], stderr = [], views = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    code++;
    if (c.executionCount === null || c.executionCount === undefined) pending++;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error') {
        errors.push({cell: i, ename: o.ename, evalue: o.evalue,
                     traceback: (o.traceback || []).join('\n').replace(/\u001b\[[0-9;]*m/g, '')});
      } else if (o.output_type === 'stream' && o.name === 'stderr') {
        stderr.push({cell: i, text: [].concat(o.text).join('')});
      }
      const w = o.data && o.data['application/vnd.jupyter.widget-view+json'];
      if (w) views.push({cell: i, model_id: w.model_id});
    }
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {code, pending, errors, stderr, views, kernel: kernel ? kernel.status : null,
          runAllDone: !!window.__skRunAllDone, runAllError: window.__skRunAllError || null};
}
"""

JS_RUN_ALL = r"""
(path) => {
  const panel = window.__skFindPanel(path);
  window.jupyterapp.shell.activateById(panel.id);
  window.__skRunAllDone = false;
  window.__skRunAllError = null;
  window.jupyterapp.commands.execute('notebook:run-all-cells')
    .then(() => { window.__skRunAllDone = true; })
    .catch((e) => { window.__skRunAllDone = true; window.__skRunAllError = String(e); });
  return true;
}
"""

# iopub messages that would reach the Log Console, or are a traceback or a warning
JS_LISTEN_IOPUB = r"""
(path) => {
  const kernel = window.__skFindPanel(path).sessionContext.session.kernel;
  window.__skIopub = [];
  kernel.iopubMessage.connect((_, msg) => {
    const t = msg.header.msg_type, parent = msg.parent_header && msg.parent_header.msg_type;
    const stream = t === 'stream', error = t === 'error';
    const outOfCell = parent && parent !== 'execute_request'
                      && ['stream', 'error', 'display_data', 'execute_result'].includes(t);
    if (error || (stream && msg.content.name === 'stderr') || outOfCell) {
      const text = error ? (msg.content.ename + ': ' + msg.content.evalue + '\n'
                            + (msg.content.traceback || []).join('\n'))
                         : (stream ? msg.content.text : JSON.stringify(Object.keys(msg.content.data || {})));
      window.__skIopub.push({type: t, parent, text: text.replace(/\u001b\[[0-9;]*m/g, '')});
    }
  });
  return true;
}
"""

JS_KERNEL_EXEC = r"""
async ({path, code}) => {
  const kernel = window.__skFindPanel(path).sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  const out = {stream: '', error: null, status: null};
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'stream') out.stream += msg.content.text;
    else if (t === 'error') out.error = msg.content.ename + ': ' + msg.content.evalue + '\n'
                                        + (msg.content.traceback || []).join('\n');
  };
  const reply = await future.done;
  out.status = reply.content.status;
  return out;
}
"""

# what the page shows of an explorer's controls: per CSS class, the slider position
# (noUiSlider's value, which ipywidgets copies into the model) and the readout's text
JS_CONTROLS = r"""
({root, classes}) => {
  const out = {};
  const base = document.querySelector('.' + root);
  if (!base) return null;
  for (const cls of classes) {
    const el = base.querySelector('.' + cls);
    if (!el) { out[cls] = null; continue; }
    const target = el.querySelector('.noUi-target');
    out[cls] = target && target.noUiSlider ? {position: Number(target.noUiSlider.get())}
                                           : {text: el.textContent.trim()};
  }
  return out;
}
"""

# key press -> first change of what any plot of the explorer draws
JS_ARM_REDRAW = r"""
(root) => {
  const base = document.querySelector('.' + root);
  const P = window.__skRedraw = {base, sig0: window.__skDrawn(base), t0: null, last: performance.now()};
  if (P.observer) P.observer.disconnect();
  P.done = new Promise((resolve) => {
    P.observer = new MutationObserver(() => {
      P.last = performance.now();
      if (P.t0 !== null && !P.result && window.__skDrawn(base) !== P.sig0) {
        P.result = {latency_ms: performance.now() - P.t0};
        resolve(P.result);
      }
    });
  });
  P.observer.observe(base, {subtree: true, attributes: true, childList: true});
  if (!window.__skKeyListener) {
    window.__skKeyListener = true;
    document.addEventListener('keydown', () => {
      const p = window.__skRedraw; if (p && p.t0 === null) p.t0 = performance.now(); }, true);
  }
  return true;
}
"""

JS_WAIT_REDRAW = r"""
(ms) => Promise.race([window.__skRedraw.done, new Promise((r) => setTimeout(() => r(null), ms))])
"""

# resolves once nothing in the explorer changed for quietMs (a redraw has settled)
JS_QUIET = r"""
({root, quietMs, maxMs}) => new Promise((resolve) => {
  const base = document.querySelector('.' + root);
  let last = performance.now();
  const obs = new MutationObserver(() => { last = performance.now(); });
  obs.observe(base, {subtree: true, attributes: true, childList: true, characterData: true});
  const start = performance.now();
  const tick = () => {
    const now = performance.now();
    if (now - last >= quietMs || now - start >= maxMs) { obs.disconnect(); resolve(now - start); }
    else setTimeout(tick, 10);
  };
  tick();
})
"""

# the explorer's status line, until the pattern's first match in it is new (not the one it
# showed before), timed from a click done here or from the next key press (Playwright
# presses it right after arming)
JS_ARM_STATUS = r"""
({root, pattern, click}) => {
  const status = document.querySelector('.' + root + ' .sk-status');
  const re = new RegExp(pattern);
  const before = status.textContent;
  const first = (text) => { const m = re.exec(text); return m ? m[0] : null; };
  const was = first(before);
  let t0 = null;
  const done = new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      const text = status.textContent, now = first(text);
      if (t0 !== null && now !== null && now !== was) {
        obs.disconnect();
        resolve({ms: performance.now() - t0, text, before});
      }
    });
    obs.observe(status, {subtree: true, childList: true, characterData: true});
  });
  window.__skStatusWait = (ms) => Promise.race([done, new Promise((r) => setTimeout(() => r(null), ms))]);
  const onKey = () => { if (t0 === null) t0 = performance.now(); document.removeEventListener('keydown', onKey, true); };
  document.addEventListener('keydown', onKey, true);
  if (click) {
    t0 = performance.now();
    document.querySelector('.' + root + ' ' + click).click();
  }
  return before;
}
"""


class NotebookPage:
    """One notebook open in JupyterLab in its own browser context (see the module docstring).

    Use as a context manager: on exit the kernel is shut down and the context closed.
    """

    def __init__(self, server, browser, rel: str, *, viewport=(1280, 960)):
        self.server, self.rel = server, rel
        self.frames: list[Frame] = []
        self.console: list[str] = []
        self.page_errors: list[str] = []
        self.external: list[str] = []
        self.phases: dict[str, float] = {}
        self._t0 = time.monotonic()
        self._stderr_offset = len(server.kernel_stderr_text())
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("websocket", self._on_websocket)
        self.page.on("console", lambda m: self.console.append(f"console.{m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    # ------------------------------------------------------------------ plumbing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        try:
            self.page.evaluate("""async (path) => { const p = window.__skFindPanel && window.__skFindPanel(path);
                                  if (p) await p.sessionContext.shutdown(); }""", self.rel)
        except Exception:  # noqa: BLE001 (the server's kernels are deleted below anyway)
            pass
        self.server.shutdown_kernels()
        self.context.close()

    def _route(self, route) -> None:
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def _on_websocket(self, ws) -> None:
        if "/api/kernels/" not in ws.url:
            return

        def record(payload, to_page):
            size = len(payload) if isinstance(payload, (bytes, bytearray)) else len(payload.encode())
            self.frames.append(Frame(time.monotonic(), to_page, size, *_parse(payload)))

        ws.on("framereceived", lambda p: record(p, True))
        ws.on("framesent", lambda p: record(p, False))

    def mark(self, name: str) -> None:
        self.phases[name] = round(time.monotonic() - self._t0, 2)

    def fail(self, message: str) -> None:
        pytest.fail(f"{self.rel}: {message}\n{self.describe()}", pytrace=False)

    def describe(self) -> str:
        lines = []
        try:
            state = self.page.evaluate(JS_CELL_STATE, self.rel)
            if state:
                lines.append(f"cells: {state['code']} code, {state['pending']} not run, kernel {state['kernel']}")
                for e in state["errors"]:
                    lines.append(f"cell {e['cell']} raised {e['ename']}: {e['evalue']}\n{e['traceback'][-2500:]}")
        except Exception as exc:  # noqa: BLE001 (diagnostics only)
            lines.append(f"(no cell state: {exc})")
        if self.console or self.page_errors:
            lines.append("browser console (last 10):\n  " + "\n  ".join((self.page_errors + self.console)[-10:]))
        lines.append("server log tail:\n" + self.server.log_tail(10))
        try:
            shot = ARTIFACTS / f"{Path(self.rel).stem}_failure.png"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(shot))
            lines.append(f"screenshot: {shot}")
        except Exception:  # noqa: BLE001
            pass
        return "\n".join(lines)

    def wait_for(self, js: str, arg, timeout_s: float, what: str):
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.page.evaluate(js, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
            time.sleep(0.05)

    # ------------------------------------------------------------------ notebook

    def open(self) -> NotebookPage:
        """Open the notebook, wait for its kernel, and start listening to its iopub."""
        self.page.goto(f"{self.server.url}/lab/tree/{self.rel}?token={self.server.token}&reset",
                       wait_until="domcontentloaded")
        self.page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout=30_000)
        self.page.evaluate(JS_SETUP)
        self.wait_for("""(path) => { const p = window.__skFindPanel(path);
                         return !!(p && p.isVisible && p.context.isReady && p.node.querySelector('.jp-Cell')); }""",
                      self.rel, 30, "the notebook to be visible")
        self.mark("notebook visible")
        self.wait_for("""(path) => { const p = window.__skFindPanel(path);
                         const k = p.sessionContext.session && p.sessionContext.session.kernel;
                         return !!(k && k.status === 'idle'); }""", self.rel, 60, "the kernel to start")
        self.page.evaluate(JS_LISTEN_IOPUB, self.rel)
        self.mark("kernel idle")
        return self

    def run_all(self, timeout_s: float = 150) -> dict:
        """Run every cell (JupyterLab's Run All); fail on an error output."""
        self.page.evaluate(JS_RUN_ALL, self.rel)
        state = self.wait_for(
            """(path) => { const s = (%s)(path);
                 if (!s) return null;
                 if (s.errors.length) return s;
                 return (s.runAllDone && s.pending === 0 && s.kernel === 'idle') ? s : null; }""" % JS_CELL_STATE.strip(),
            self.rel, timeout_s, "all cells to run and the kernel to be idle")
        if state["errors"]:
            self.fail("a cell raised while running all cells")
        self.mark("all cells run")
        return state

    def cells(self) -> dict:
        return self.page.evaluate(JS_CELL_STATE, self.rel)

    def kernel(self, code: str) -> str:
        """Run ``code`` in the notebook's kernel; its stdout (fails on an error)."""
        out = self.page.evaluate(JS_KERNEL_EXEC, {"path": self.rel, "code": code})
        if out["status"] != "ok" or out["error"]:
            self.fail(f"kernel code failed:\n{code}\n{out['error']}")
        return out["stream"]

    def kernel_json(self, code: str):
        """Run ``code``, which must end by assigning ``_sk_out``; returns it (through JSON)."""
        text = self.kernel(code + "\nimport json as _skj\nprint('__SK__' + _skj.dumps(_sk_out))")
        line = next(ln for ln in text.splitlines() if ln.startswith("__SK__"))
        return json.loads(line[len("__SK__"):])

    # ------------------------------------------------------------------ what went wrong

    def problems(self) -> list[str]:
        """Tracebacks and warnings: in cell outputs (stderr), on iopub outside cells (the
        Log Console), in the kernel process's stderr, and page errors."""
        found = []
        state = self.cells()
        for s in state["stderr"]:
            found.append(f"cell {s['cell']} wrote to stderr: {s['text'][:800]}")
        for m in self.page.evaluate("() => window.__skIopub || []"):
            found.append(f"iopub {m['type']} (parent {m['parent']}): {m['text'][:800]}")
        raw = self.server.kernel_stderr_text(self._stderr_offset).strip()
        if raw:
            found.append(f"kernel process stderr: {raw[:1500]}")
        found += [f"page error: {e}" for e in self.page_errors]
        return found

    # ------------------------------------------------------------------ controls and figures

    def page_controls(self, root: str, classes: list[str]) -> dict:
        return self.page.evaluate(JS_CONTROLS, {"root": root, "classes": classes})

    def quiet(self, root: str, quiet_ms: int = 60, max_ms: int = 3000) -> None:
        self.page.evaluate(JS_QUIET, {"root": root, "quietMs": quiet_ms, "maxMs": max_ms})

    def press(self, root: str, css: str, presses: int, *, timeout_ms: int = 10_000):
        """Press an arrow key ``presses`` times on the slider ``css`` of explorer ``root``,
        timing each key to the first change of what the explorer's plots draw. Returns
        ``(latencies_ms, bytes_to_page, bytes_from_page, key)`` per press lists."""
        handle = self.page.locator(f".{root} .{css} .noUi-handle")
        if handle.count() != 1:
            self.fail(f"expected one slider handle '.{root} .{css} .noUi-handle', found {handle.count()}")
        state = self.page.evaluate("""(sel) => { const t = document.querySelector(sel).noUiSlider;
                                     return {v: Number(t.get()), lo: Number(t.options.range.min),
                                             hi: Number(t.options.range.max)}; }""",
                                   f".{root} .{css} .noUi-target")
        key = "ArrowRight" if state["hi"] - state["v"] >= presses else "ArrowLeft"
        if key == "ArrowLeft" and state["v"] - state["lo"] < presses:
            self.fail(f"slider .{css} has room for fewer than {presses} steps: {state}")
        handle.scroll_into_view_if_needed()
        self.quiet(root)
        handle.focus()
        latencies, to_page, from_page = [], [], []
        for i in range(presses):
            self.page.evaluate(JS_ARM_REDRAW, root)
            t = time.monotonic()
            self.page.keyboard.press(key)
            res = self.page.evaluate(JS_WAIT_REDRAW, timeout_ms)
            if res is None:
                self.fail(f"press {i + 1} ({key} on .{css}): no plot of the explorer redrew within "
                          f"{timeout_ms / 1000:.0f} s")
            latencies.append(res["latency_ms"])
            self.quiet(root, 60)  # let this redraw settle, so the next press times its own
            frames = [f for f in self.frames if f.t >= t]
            to_page.append(sum(f.size for f in frames if f.to_page))
            from_page.append(sum(f.size for f in frames if not f.to_page))
        return latencies, to_page, from_page, key

    def status_change(self, root: str, pattern: str, *, click: str | None = None, key: str | None = None,
                      timeout_ms: int = 5000):
        """Click ``click`` (a selector under the explorer) or press ``key``, and time it to
        the first status line whose match of ``pattern`` is new: ``{ms, text, before}`` or
        None on time-out."""
        self.page.evaluate(JS_ARM_STATUS, {"root": root, "pattern": pattern, "click": click})
        if key is not None:
            self.page.keyboard.press(key)
        return self.page.evaluate("(ms) => window.__skStatusWait(ms)", timeout_ms)

    def screenshot(self, name: str, scroll_to: str | None = None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        if scroll_to:  # its top at the top of the notebook's view
            self.page.evaluate("(sel) => document.querySelector(sel).scrollIntoView({block: 'start'})", scroll_to)
        self.page.mouse.move(5, 5)
        self.page.wait_for_timeout(300)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


def status_step(text: str) -> int:
    """The step a streaming explorer's status line shows ("step 120/1500 ...")."""
    m = re.search(r"step (\d+)/", text)
    return int(m.group(1)) if m else -1
