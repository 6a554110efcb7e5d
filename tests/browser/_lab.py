"""Harness for the real-browser tests: a private JupyterLab server and a Chromium page.

Everything here is test plumbing; nothing is imported by spectrakit itself.

- :class:`LabServer` starts ``python -m jupyter lab`` (the interpreter running pytest, so
  the same environment) on 127.0.0.1, a free port, a random token, with throw-away
  config/runtime/settings/workspaces folders, and stops it through its own process
  handle.
- :func:`check_explorer_notebook` opens one notebook in a Playwright page, runs all
  cells, moves the ``sk-reg-slider`` slider with the keyboard while timing key-to-redraw
  of the ``sk-fig-solution`` figure, then checks the rendered data changed and that page
  and kernel agree on ``reg``.

The contract a notebook must offer (the real ``00_start_here.ipynb`` and the stand-in
``fixtures/standin.ipynb``):

- an ipywidgets ``FloatSlider`` over **log10(reg)** with ``add_class("sk-reg-slider")``;
- a plotly ``FigureWidget`` with ``add_class("sk-fig-solution")`` that redraws when the
  slider moves;
- a variable ``explorer`` with a float property ``reg`` (the reg currently applied) and a
  method ``flush()`` (applies any pending, coalesced update).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = HERE / "artifacts"
STANDIN = HERE / "fixtures" / "standin.ipynb"
#: Where the stand-in is copied inside the server's root (a folder of its own, so it can
#: never collide with a real notebook).
STANDIN_REL = "_browser_standin/standin.ipynb"

CHROMIUM = os.environ.get("SPECTRAKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SLIDER_SEL = ".sk-reg-slider"
FIGURE_SEL = ".sk-fig-solution"

# User settings written under JUPYTERLAB_SETTINGS_DIR.
LAB_SETTINGS = {
    # Stops the "Jupyter news" toast that otherwise covers the page.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Attach every cell to the DOM: with the default windowing ("contentVisibility")
    # an off-screen output may be skipped by layout, and a figure far down a long
    # notebook would then be measured while not rendered at all.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


def in_ci() -> bool:
    """True when the environment variable CI is set (to anything but an explicit no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str):
    """A missing browser stack fails in CI (it must be installed there) and skips locally."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def require_browser_stack() -> None:
    """Skip (locally) or fail (CI) unless Playwright, JupyterLab and Chromium are present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        skip_or_fail(f"playwright is not importable ({exc}); pip install playwright")
    try:
        import jupyterlab  # noqa: F401
    except ImportError as exc:
        skip_or_fail(f"jupyterlab is not importable ({exc}); pip install jupyterlab")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        skip_or_fail(
            f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set "
            "SPECTRAKIT_CHROMIUM); `playwright install` is not used here"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_notebooks(dst: Path) -> None:
    """The server's root: a copy of notebooks/ plus the stand-in, never the repo itself."""
    src = REPO / "notebooks"
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    if src.is_dir():
        shutil.copytree(src, dst, ignore=ignore)
    else:
        dst.mkdir(parents=True)
    standin_dst = dst / STANDIN_REL
    standin_dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(STANDIN, standin_dst)


@dataclass
class LabServer:
    """A JupyterLab server owned by the test: started and stopped by its process handle."""

    base: Path
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    port: int = 0
    proc: subprocess.Popen | None = None
    startup_s: float = float("nan")

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def log_path(self) -> Path:
        return self.base / "jupyter-lab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        for var, sub in [
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
            # No user IPython profile/startup files in the kernel, no history db in ~.
            ("IPYTHONDIR", "ipython"),
            # Notebook-signing key and trust db would otherwise be written under ~.
            ("JUPYTER_DATA_DIR", "data"),
        ]:
            path = self.base / sub
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
        # Kernels import the working tree's spectrakit even when it is not installed.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in [str(REPO), env.get("PYTHONPATH", "")] if p
        )
        env.pop("JUPYTER_TOKEN", None)
        return env

    def _write_settings(self) -> None:
        settings_dir = self.base / "lab-settings"
        for rel, content in LAB_SETTINGS.items():
            path = settings_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content))

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(lines[-n:])

    def start(self, timeout: float = 60.0) -> LabServer:
        _copy_notebooks(self.root)
        self._write_settings()
        env = self._env()
        t0 = time.perf_counter()
        last_error = "never started"
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = _free_port()
            cmd = [
                sys.executable, "-m", "jupyter", "lab",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                "--port-retries=0",
                f"--ServerApp.token={self.token}",
                f"--ServerApp.root_dir={self.root}",
                "--allow-root",
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                # Safety net should pytest itself be killed: idle kernels are culled and
                # the server then exits on its own instead of lingering for ever.
                "--MappingKernelManager.cull_idle_timeout=900",
                "--MappingKernelManager.cull_interval=60",
                "--ServerApp.shutdown_no_activity_timeout=1200",
            ]
            log = open(self.log_path, "ab")  # noqa: SIM115 (kept open by the child)
            try:
                self.proc = subprocess.Popen(
                    cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT,
                )
            finally:
                log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    last_error = f"jupyter lab exited with code {self.proc.returncode}"
                    break
                try:
                    status, _ = self.api("GET", "/api/status", timeout=2)
                    if status == 200:
                        self.startup_s = time.perf_counter() - t0
                        return self
                except (OSError, urllib.error.URLError) as exc:
                    last_error = repr(exc)
                time.sleep(0.1)
            else:
                self.stop()
                raise RuntimeError(
                    f"JupyterLab did not answer /api/status within {timeout:.0f} s "
                    f"({last_error}).\nServer log tail:\n{self.log_tail()}"
                )
        raise RuntimeError(
            f"JupyterLab failed to start ({last_error}).\nServer log tail:\n{self.log_tail()}"
        )

    def api(self, method: str, path: str, timeout: float = 10) -> tuple[int, object]:
        req = urllib.request.Request(
            self.url + path, method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
            return resp.status, (json.loads(body) if body else None)

    def shutdown_kernels(self) -> list[str]:
        """Delete every kernel the server holds (it keeps them alive between pages)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        done = []
        try:
            _, kernels = self.api("GET", "/api/kernels")
            for k in kernels or []:
                try:
                    self.api("DELETE", f"/api/kernels/{k['id']}", timeout=15)
                    done.append(k["id"])
                except (OSError, urllib.error.URLError):
                    pass
        except (OSError, urllib.error.URLError):
            pass
        return done

    def stop(self) -> None:
        """Stop the server through its own process handle (SIGTERM, then SIGKILL)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        self.shutdown_kernels()
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------------------
# Page-side JavaScript (run through page.evaluate; window.jupyterapp comes from
# --LabApp.expose_app_in_browser=True).

JS_FIND_PANEL = """
window.__skFindPanel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
};
// The plotly div of a figure: FigureWidget's view element *is* the .js-plotly-plot div,
// so add_class() puts the class on it; also accept the plot nested inside the element.
window.__skPlotOf = (sel) => {
  const root = document.querySelector(sel);
  if (!root) return null;
  return root.classList.contains('js-plotly-plot') ? root : root.querySelector('.js-plotly-plot');
};
"""

# State of all code cells: how many still lack an execution count, and error outputs.
JS_CELL_STATE = """
(path) => {
  const panel = window.__skFindPanel(path);
  if (!panel) return null;
  const cells = panel.content.model.cells;
  let code = 0, pending = 0;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    code++;
    if (c.executionCount === null || c.executionCount === undefined) pending++;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error') {
        errors.push({cell: i, ename: o.ename, evalue: o.evalue,
                     traceback: (o.traceback || []).join('\\n')
                       .replace(/\\u001b\\[[0-9;]*m/g, '')});
      }
    }
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {code, pending, errors, kernel: kernel ? kernel.status : null,
          runAllDone: !!window.__skRunAllDone, runAllError: window.__skRunAllError || null};
}
"""

JS_RUN_ALL = """
async (path) => {
  const panel = window.__skFindPanel(path);
  window.jupyterapp.shell.activateById(panel.id);
  window.__skRunAllDone = false;
  window.__skRunAllError = null;
  // Resolves once every queued cell has a reply; polled from Python.
  window.jupyterapp.commands.execute('notebook:run-all-cells')
    .then(() => { window.__skRunAllDone = true; })
    .catch((e) => { window.__skRunAllDone = true; window.__skRunAllError = String(e); });
  return true;
}
"""

# Trace data of the solution figure, normalised to plain arrays. plotly >= 6 ships numpy
# arrays as {dtype, bdata} typed-array specs; gd.data keeps the spec, so decode it.
JS_TRACES = """
(sel) => {
  const el = window.__skPlotOf(sel);
  if (!el || !el.data) return null;
  const decode = (v) => {
    if (v === undefined || v === null) return null;
    if (ArrayBuffer.isView(v) || Array.isArray(v)) return Array.from(v, Number);
    if (typeof v === 'object' && typeof v.bdata === 'string') {
      const bin = atob(v.bdata);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const T = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array,
                 i2: Int16Array, u2: Uint16Array, i1: Int8Array, u1: Uint8Array}[v.dtype];
      if (!T) return null;
      return Array.from(new T(bytes.buffer), Number);
    }
    return null;
  };
  return el.data.map((t, k) => ({index: k, name: t.name ?? null, type: t.type ?? 'scatter',
                                 y: decode(t.y)}));
}
"""

JS_FIGURE_DRAWN = """
(sel) => {
  const el = window.__skPlotOf(sel);
  return !!(el && el.data && el.data.length > 0 && el._fullLayout
            && el.querySelector('.main-svg'));
}
"""

# Page-side value of the slider. Preferred source: the ipywidgets *model* (what is synced
# with the kernel), reached through the notebook's widget manager: every widget output is
# rendered by @jupyter-widgets/jupyterlab-manager's WidgetRenderer, which holds the
# manager in `_manager` (a PromiseDelegate); the manager's `_models` maps model ids to
# promises of models, and the slider is the model whose `_dom_classes` contain
# "sk-reg-slider". Fallback (if those internals ever move): noUiSlider's public API on the
# slider element, `target.noUiSlider.get()`; ipywidgets' FloatSlider view builds noUiSlider
# with an identity format and copies exactly that number into the model on every move.
JS_SLIDER_STATE = """
async ({path, sel}) => {
  const out = {source: null, value: null, min: null, max: null, step: null,
               model_value: null, nouislider_value: null, readout: null};
  const target = document.querySelector(sel + ' .noUi-target');
  if (target && target.noUiSlider) {
    out.nouislider_value = Number(target.noUiSlider.get());
    const r = target.noUiSlider.options.range;
    out.min = Number(r.min); out.max = Number(r.max);
    out.step = target.noUiSlider.options.step ?? null;
  }
  const readout = document.querySelector(sel + ' .widget-readout');
  if (readout) out.readout = readout.textContent;
  const panel = window.__skFindPanel(path);
  let manager = null;
  const seen = new Set();
  const walk = (w, depth) => {
    if (!w || depth > 12 || seen.has(w) || manager) return;
    seen.add(w);
    if (w._manager && w._manager.promise) { manager = w._manager.promise; return; }
    for (const c of (w.widgets || [])) walk(c, depth + 1);
  };
  if (panel) {
    for (const cell of panel.content.widgets) if (cell.outputArea) walk(cell.outputArea, 0);
  }
  if (manager) {
    const m = await manager;
    const models = m._models ? Object.values(m._models) : [];
    for (const p of models) {
      let model;
      try { model = await p; } catch (e) { continue; }
      const cls = model.get('_dom_classes') || [];
      if (cls.includes(sel.replace(/^\\./, ''))) {
        out.model_value = model.get('value');
        out.min = model.get('min'); out.max = model.get('max'); out.step = model.get('step');
        break;
      }
    }
  }
  if (out.model_value !== null) { out.source = 'widget model'; out.value = out.model_value; }
  else if (out.nouislider_value !== null) { out.source = 'noUiSlider.get()'; out.value = out.nouislider_value; }
  return out;
}
"""

# Ask the kernel (not the page) for explorer.reg, after explorer.flush().
JS_KERNEL_EXEC = """
async ({path, code}) => {
  const panel = window.__skFindPanel(path);
  const kernel = panel.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  const out = {stream: '', result: null, error: null, status: null};
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'stream') out.stream += msg.content.text;
    else if (t === 'execute_result') out.result = msg.content.data['text/plain'];
    else if (t === 'error') out.error = msg.content.ename + ': ' + msg.content.evalue;
  };
  const reply = await future.done;
  out.status = reply.content.status;
  return out;
}
"""

KERNEL_REG_CODE = (
    "explorer.flush()\n"
    "print('__SK_REG__', repr(float(explorer.reg)))\n"
)

# Key-to-redraw probe: a MutationObserver on the figure's .js-plotly-plot (subtree,
# attributes + childList). For each armed press it records performance.now() at keydown
# (capture listener) and at the first mutation after it where the trace data drawn
# changed: the `d` attributes of the `.scatterlayer .js-line` paths (for WebGL traces,
# which draw no SVG path, the decoded y data checked on plotly_afterplot instead).
JS_INSTALL_PROBE = """
(sel) => {
  const plot = window.__skPlotOf(sel);
  if (!plot) return false;
  if (window.__skProbe) window.__skProbe.observer.disconnect();
  const P = window.__skProbe = {plot, pending: null, lastMutation: performance.now(),
                                mutations: 0};
  const sig = () => {
    const ds = Array.from(plot.querySelectorAll('.scatterlayer .js-line'))
      .map((p) => p.getAttribute('d')).join('|');
    if (ds) return 'd:' + ds;
    return 'y:' + JSON.stringify((plot.data || []).map((t) => t.y && (t.y.bdata
      || Array.from(t.y).join(',')) || null));
  };
  P.sig = sig;
  const check = (via) => {
    const p = P.pending;
    if (!p || p.t0 === null) return;
    const now = performance.now();
    if (sig() !== p.sig0) {
      P.pending = null;
      p.resolve({latency_ms: now - p.t0, via});
    }
  };
  P.observer = new MutationObserver(() => {
    P.lastMutation = performance.now(); P.mutations++; check('mutation');
  });
  P.observer.observe(plot, {subtree: true, attributes: true, childList: true});
  if (!window.__skKeyListener) {
    window.__skKeyListener = true;
    document.addEventListener('keydown', () => {
      const p = window.__skProbe && window.__skProbe.pending;
      if (p && p.t0 === null) p.t0 = performance.now();
    }, true);
  }
  if (typeof plot.on === 'function') plot.on('plotly_afterplot', () => check('afterplot'));
  P.arm = () => {
    let resolve;
    P.promise = new Promise((r) => { resolve = r; });
    P.pending = {sig0: sig(), t0: null, resolve};
    return true;
  };
  P.wait = (ms) => Promise.race([P.promise, new Promise((r) => setTimeout(() => r(null), ms))]);
  // Resolve once no mutation has happened for quietMs (the redraw has settled).
  P.quiet = (quietMs, maxMs) => new Promise((resolve) => {
    const start = performance.now();
    const tick = () => {
      const now = performance.now();
      if (now - P.lastMutation >= quietMs || now - start >= maxMs) resolve(now - start);
      else setTimeout(tick, 10);
    };
    tick();
  });
  return true;
}
"""


@dataclass
class ExplorerCheck:
    """What :func:`check_explorer_notebook` measured."""

    notebook: str
    phases_s: dict[str, float]
    key: str
    latencies_ms: list[float]
    page_slider_before: dict
    page_slider_after: dict
    page_reg: float
    kernel_reg: float
    changed_traces: list[int]
    solution_trace: int | None
    max_abs_change: float

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms)


def _wait_for(page, fn, arg, timeout_s: float, what: str, describe):
    """Poll page.evaluate(fn, arg) until truthy; on timeout fail with describe()."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(fn, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}.\n{describe()}",
                        pytrace=False)
        time.sleep(0.1)


def check_explorer_notebook(
    server: LabServer,
    browser,
    notebook_rel: str,
    *,
    presses: int = 12,
    screenshot_name: str,
    latency_name: str,
    readme_screenshot: Path | None = None,
) -> ExplorerCheck:
    """Open ``notebook_rel`` (relative to the server root), run it, drive the slider, check.

    Writes ``artifacts/<screenshot_name>`` and ``artifacts/<latency_name>``; on failure a
    ``<screenshot stem>_failure.png``. ``readme_screenshot`` gets a copy of the screenshot
    only when SPECTRAKIT_UPDATE_SCREENSHOT=1 (the README image is refreshed by hand).
    """
    artifact_stem = Path(screenshot_name).stem
    (ARTIFACTS / f"{artifact_stem}_failure.png").unlink(missing_ok=True)  # stale, if any
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phases: dict[str, float] = {"server up": server.startup_s}
    console: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 960})
    page = context.new_page()
    page.on("console", lambda m: console.append(f"console.{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    t0 = time.perf_counter()

    def mark(name: str) -> None:
        phases[name] = time.perf_counter() - t0

    def describe() -> str:
        lines = [f"notebook: {notebook_rel}"]
        try:
            state = page.evaluate(JS_CELL_STATE, notebook_rel)
        except Exception as exc:  # noqa: BLE001 (diagnostics only)
            state = f"(could not read cell state: {exc})"
        if isinstance(state, dict):
            lines.append(
                f"code cells: {state['code']}, not yet executed: {state['pending']}, "
                f"kernel: {state['kernel']}, run-all finished: {state['runAllDone']}"
                + (f", run-all error: {state['runAllError']}" if state["runAllError"] else "")
            )
            for err in state["errors"]:
                lines.append(f"cell {err['cell']} raised {err['ename']}: {err['evalue']}\n"
                             f"{err['traceback'][-3000:]}")
        else:
            lines.append(str(state))
        try:
            lines.append(f"elements: {SLIDER_SEL} x{page.locator(SLIDER_SEL).count()}, "
                         f"{FIGURE_SEL} x{page.locator(FIGURE_SEL).count()}")
        except Exception:  # noqa: BLE001
            pass
        if console:
            lines.append("browser console (last 15):\n  " + "\n  ".join(console[-15:]))
        lines.append("server log tail:\n" + server.log_tail(15))
        try:
            page.screenshot(path=str(ARTIFACTS / f"{artifact_stem}_failure.png"))
            lines.append(f"screenshot: {ARTIFACTS / (artifact_stem + '_failure.png')}")
        except Exception:  # noqa: BLE001
            pass
        return "\n".join(lines)

    try:
        page.goto(f"{server.url}/lab/tree/{notebook_rel}?token={server.token}&reset",
                  wait_until="domcontentloaded")
        page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)",
                               timeout=30_000)
        page.evaluate(JS_FIND_PANEL)
        _wait_for(page, """(path) => { const p = window.__skFindPanel(path);
                    return !!(p && p.isVisible && p.context.isReady
                              && p.node.querySelector('.jp-Cell')); }""",
                  notebook_rel, 30, "the notebook to be visible", describe)
        mark("notebook visible")
        _wait_for(page, """(path) => { const p = window.__skFindPanel(path);
                    const k = p.sessionContext.session && p.sessionContext.session.kernel;
                    return !!(k && k.status === 'idle'); }""",
                  notebook_rel, 60, "the kernel to start (status idle)", describe)
        mark("kernel started")

        page.evaluate(JS_RUN_ALL, notebook_rel)
        state = _wait_for(
            page,
            """(path) => { const s = (%s)(path);
                 if (!s) return null;
                 if (s.errors.length) return s;
                 return (s.runAllDone && s.pending === 0 && s.kernel === 'idle') ? s : null; }"""
            % JS_CELL_STATE.strip(),
            notebook_rel, 120, "all cells to run and the kernel to be idle", describe,
        )
        if state["errors"]:
            pytest.fail(f"a cell of {notebook_rel} raised while running all cells.\n"
                        f"{describe()}", pytrace=False)
        mark("kernel idle (all cells run)")

        _wait_for(page, JS_FIGURE_DRAWN, FIGURE_SEL, 30,
                  f"the figure {FIGURE_SEL} to be drawn (.js-plotly-plot with data)", describe)
        mark("plot drawn")

        if page.locator(f"{SLIDER_SEL} .noUi-handle").count() != 1:
            pytest.fail(f"expected exactly one slider handle '{SLIDER_SEL} .noUi-handle'.\n"
                        f"{describe()}", pytrace=False)
        handle = page.locator(f"{SLIDER_SEL} .noUi-handle")
        page.locator(FIGURE_SEL).first.scroll_into_view_if_needed()
        handle.scroll_into_view_if_needed()

        slider_before = page.evaluate(JS_SLIDER_STATE, {"path": notebook_rel, "sel": SLIDER_SEL})
        if slider_before["value"] is None:
            pytest.fail(f"could not read the slider value from the page.\n{describe()}",
                        pytrace=False)
        step = slider_before["step"] or 0.1
        room_right = (slider_before["max"] - slider_before["value"]) / step
        key = "ArrowRight" if room_right >= presses + 0.5 else "ArrowLeft"
        room = room_right if key == "ArrowRight" else (
            (slider_before["value"] - slider_before["min"]) / step)
        assert room >= presses - 1e-9, (
            f"slider has room for only {room:.1f} steps, need {presses}: {slider_before}")

        traces_before = page.evaluate(JS_TRACES, FIGURE_SEL)
        assert page.evaluate(JS_INSTALL_PROBE, FIGURE_SEL), "could not install the probe"
        page.evaluate("() => window.__skProbe.quiet(100, 3000)")
        handle.focus()
        latencies: list[float] = []
        for i in range(presses):
            page.evaluate("() => window.__skProbe.arm()")
            page.keyboard.press(key)
            res = page.evaluate("(ms) => window.__skProbe.wait(ms)", 10_000)
            if res is None:
                pytest.fail(f"press {i + 1} ({key}): the solution figure did not redraw "
                            f"within 10 s.\n{describe()}", pytrace=False)
            latencies.append(res["latency_ms"])
            # Let this redraw settle before the next press, so a late mutation of one
            # press is never counted as the redraw of the next.
            page.evaluate("() => window.__skProbe.quiet(40, 2000)")
        mark(f"{presses} presses")

        med = statistics.median(latencies)
        print(f"\n[browser] {notebook_rel}: per-press key-to-redraw latency (ms): "
              + ", ".join(f"{x:.1f}" for x in latencies))
        print(f"[browser] browser key-to-redraw latency median {med:.1f} ms over "
              f"{len(latencies)} presses ({key}; min {min(latencies):.1f}, "
              f"max {max(latencies):.1f})")

        # Rendered data changed?
        traces_after = page.evaluate(JS_TRACES, FIGURE_SEL)
        changed, max_change = [], 0.0
        for tb, ta in zip(traces_before, traces_after):
            if tb["y"] is None or ta["y"] is None:
                continue
            if len(tb["y"]) != len(ta["y"]):
                changed.append(tb["index"])
                continue
            d = max((abs(a - b) for a, b in zip(ta["y"], tb["y"])), default=0.0)
            if d > 0:
                changed.append(tb["index"])
                max_change = max(max_change, d)
        named = [t["index"] for t in traces_after
                 if t["name"] and "solution" in str(t["name"]).lower()]
        solution = named[0] if named else (changed[0] if changed else None)
        assert changed, (
            "the solution figure's rendered data (el.data[k].y) did not change after "
            f"{presses} slider presses; traces: {[t['name'] for t in traces_after]}")
        if named:
            assert solution in changed, (
                f"the trace named {traces_after[solution]['name']!r} (index {solution}) did "
                f"not change; changed traces: {changed}")

        # Page and kernel agree on reg?
        slider_after = page.evaluate(JS_SLIDER_STATE, {"path": notebook_rel, "sel": SLIDER_SEL})
        assert slider_after["value"] != slider_before["value"], (
            f"the slider value did not move: before {slider_before}, after {slider_after}")
        if slider_after["model_value"] is not None and slider_after["nouislider_value"] is not None:
            assert abs(slider_after["model_value"] - slider_after["nouislider_value"]) <= 1e-9, (
                f"slider model and noUiSlider disagree: {slider_after}")
        page_reg = 10.0 ** float(slider_after["value"])
        out = page.evaluate(JS_KERNEL_EXEC, {"path": notebook_rel, "code": KERNEL_REG_CODE})
        if out["status"] != "ok" or "__SK_REG__" not in out["stream"]:
            pytest.fail(f"asking the kernel for explorer.reg failed: {out}\n{describe()}",
                        pytrace=False)
        kernel_line = next(ln for ln in out["stream"].splitlines() if "__SK_REG__" in ln)
        kernel_reg = float(kernel_line.split("__SK_REG__", 1)[1].strip())
        print(f"[browser] reg: page {page_reg!r} (10**{slider_after['value']!r}, from the "
              f"{slider_after['source']}; readout {slider_after['readout']!r}), kernel "
              f"{kernel_reg!r} (explorer.reg after explorer.flush())")
        assert abs(page_reg - kernel_reg) <= 1e-6 * abs(kernel_reg), (
            f"page and kernel disagree on reg: page {page_reg!r} "
            f"(10**{slider_after['value']!r} from the {slider_after['source']}), kernel "
            f"{kernel_reg!r}")

        # Screenshot with the explorer in view.
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        page.locator(SLIDER_SEL).first.scroll_into_view_if_needed()
        page.mouse.move(5, 5)
        page.wait_for_timeout(300)  # let the panel relayout (plotly resizes to it)
        shot = ARTIFACTS / screenshot_name
        page.screenshot(path=str(shot))
        if readme_screenshot is not None and os.environ.get("SPECTRAKIT_UPDATE_SCREENSHOT") == "1":
            readme_screenshot.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, readme_screenshot)
            print(f"[browser] README screenshot refreshed: {readme_screenshot}")

        # The server keeps kernels alive between page loads: shut this one down.
        page.evaluate("""async (path) => { const p = window.__skFindPanel(path);
                         if (p) await p.sessionContext.shutdown(); }""", notebook_rel)
        mark("kernel shut down")
        result = ExplorerCheck(
            notebook=notebook_rel, phases_s=dict(phases), key=key, latencies_ms=latencies,
            page_slider_before=slider_before, page_slider_after=slider_after,
            page_reg=page_reg, kernel_reg=kernel_reg, changed_traces=changed,
            solution_trace=solution, max_abs_change=max_change,
        )
        latency_file = ARTIFACTS / latency_name
        latency_file.write_text(json.dumps({
            "notebook": notebook_rel,
            "key": key,
            "presses": len(latencies),
            "latencies_ms": [round(x, 3) for x in latencies],
            "median_ms": round(med, 3),
            "measure": "keydown -> first mutation of the sk-fig-solution .js-plotly-plot "
                       "that changed the drawn trace paths (performance.now())",
            "phases_s": {k: round(v, 3) for k, v in phases.items()},
            "page_reg": page_reg,
            "kernel_reg": kernel_reg,
            "page_reg_source": slider_after["source"],
            "browser": browser.version,
            "unix_time": time.time(),
        }, indent=2) + "\n")

        print("[browser] phases (s; server up is from server launch, the rest from page "
              "open): " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
        return result
    finally:
        server.shutdown_kernels()
        context.close()
