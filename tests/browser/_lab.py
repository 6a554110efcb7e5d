"""The real-browser tests' server: a private JupyterLab, started and stopped by the test.

Everything here is test plumbing; nothing is imported by spectrakit itself.

:class:`LabServer` starts ``python -m jupyter lab`` (the interpreter running pytest, so
the same environment) on 127.0.0.1, a free port, a random token, with throw-away
config/runtime/settings/workspaces folders, over a copy of the repository's ``notebooks/``
and ``widgets/`` laid out as in the repository (the README's "Try it" serves the
repository root, so start-here's links to the gallery resolve). Kernels talk over IPC and
write their process stderr to :attr:`LabServer.kernel_stderr`, so a test can check that
nothing (no traceback, no warning) went there. :mod:`_page` drives a notebook in it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = HERE / "artifacts"

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


#: what the server's root holds: these folders of the repository, at the same paths
SERVED = ("notebooks", "widgets")


def _copy_repo(dst: Path) -> None:
    """The server's root: a copy of the served folders, never the repository itself."""
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    dst.mkdir(parents=True, exist_ok=True)
    for name in SERVED:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dst / name, ignore=ignore)


@dataclass
class LabServer:
    """A JupyterLab server owned by the test: started and stopped by its process handle."""

    base: Path
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    port: int = 0
    proc: subprocess.Popen | None = None
    _runtime: Path | None = None
    startup_s: float = float("nan")

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def log_path(self) -> Path:
        return self.base / "jupyter-lab.log"

    @property
    def kernel_stderr(self) -> Path:
        """Where every kernel's process stderr goes (its own kernelspec redirects it)."""
        return self.base / "kernel-stderr.log"

    def kernel_stderr_text(self, offset: int = 0) -> str:
        try:
            return self.kernel_stderr.read_text(errors="replace")[offset:]
        except OSError:
            return ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # kernels talk over IPC sockets in the runtime dir, and a Unix socket's path may hold
        # at most 107 bytes: pytest's own temp paths (with xdist's popen-gw1) are too long
        if self._runtime is None:
            self._runtime = Path(tempfile.mkdtemp(prefix="sk-rt-"))
        env["JUPYTER_RUNTIME_DIR"] = str(self._runtime)
        for var, sub in [
            ("JUPYTER_CONFIG_DIR", "config"),
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

    def _write_kernelspec(self) -> None:
        """A "python3" kernelspec in the private data dir (it wins over the system's): this
        interpreter, with its process stderr appended to :attr:`kernel_stderr`."""
        spec = self.base / "data" / "kernels" / "python3"
        spec.mkdir(parents=True, exist_ok=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": ["/bin/sh", "-c", 'exec "$0" -m ipykernel_launcher -f "$1" 2>>"$2"',
                     sys.executable, "{connection_file}", str(self.kernel_stderr)],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "metadata": {"debugger": True},
        }))
        self.kernel_stderr.touch()

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
        _copy_repo(self.root)
        env = self._env()
        self._write_settings()
        self._write_kernelspec()
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
                # kernels over IPC: over TCP each kernel warns on stderr that it is unencrypted
                "--KernelManager.transport=ipc",
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
        if proc is not None and proc.poll() is None:
            self.shutdown_kernels()
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)
