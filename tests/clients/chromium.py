"""Headless Chromium (Debian's package) driven by Playwright, and the servers the tests open.

No browser is downloaded: Playwright launches /usr/bin/chromium (or $DLBOOK_CHROMIUM) through
`executable_path`. `.ci/run` installs Debian's `chromium` when it is missing; without it the
client tests skip and say so. Every server and browser started here is stopped by the context
manager that started it, on success and on failure alike.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"

# The launch flags of the issue: headless, no sandbox (CI runs as root), no GPU, and no
# background traffic of Chromium's own (updates, sync, QUIC probes, first-run pages).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The Chromium binary to drive, or None."""
    for candidate in (os.environ.get("DLBOOK_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


def require_chromium() -> str:
    """The Chromium path; skips the calling test, saying why, when no browser can be had."""
    pytest.importorskip(
        "playwright.sync_api", reason="the Python package playwright is not installed"
    )
    path = chromium_path()
    if path is None:
        pytest.skip(
            "no Chromium: install Debian's browser as root with "
            "`apt-get update && apt-get install -y chromium chromium-driver` (.ci/run does)"
        )
    return path


def require_built_html() -> Path:
    if not (HTML / "index.html").is_file():
        pytest.skip(
            f"{HTML.relative_to(ROOT)} is missing: build the book first "
            "(.venv/bin/jupyter-book build -W -n --keep-going .)"
        )
    return HTML


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 at a free port; yields the base URL ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def browser_context(
    *, viewport: dict | None = None, color_scheme: str = "light"
) -> Iterator[object]:
    """A Playwright BrowserContext of a fresh headless Chromium with a fresh user-data dir."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with (
        tempfile.TemporaryDirectory(prefix="dlbook-chromium-") as profile,
        sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=viewport or {"width": 1280, "height": 800},
            color_scheme=color_scheme,
            service_workers="block",
        )
        try:
            yield context
        finally:
            context.close()


def block_foreign_hosts(context: object, foreign: list[str]) -> None:
    """Abort every request to a host other than 127.0.0.1 and record its URL in `foreign`."""
    from urllib.parse import urlsplit

    def handle(route: object) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    context.route("**/*", handle)


def _shutdown_kernels(base: str, token: str) -> None:
    """Ask the server to stop its kernels (they run in sessions of their own)."""
    import json

    headers = {"Authorization": f"token {token}"}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(f"{base}api/kernels", headers=headers), timeout=10
        ) as resp:
            kernels = json.load(resp)
        for kernel in kernels:
            request = urllib.request.Request(
                f"{base}api/kernels/{kernel['id']}", method="DELETE", headers=headers
            )
            with contextlib.suppress(OSError):
                urllib.request.urlopen(request, timeout=30).close()
    except OSError:
        pass  # the server is already gone; its own shutdown stops the kernels


@contextlib.contextmanager
def jupyter_lab(
    root_dir: Path, *, settings: dict | None = None, timeout: float = 120.0
) -> Iterator[tuple[str, str]]:
    """Start `jupyter lab` on 127.0.0.1 with a token; yields (base URL, token).

    `settings` maps a file under the user-settings folder (e.g.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings") to its JSON content. The app
    is exposed to the page as `window.jupyterapp`, so a test can run JupyterLab's commands.

    The server runs in its own process group with its own config and runtime folders, and is
    stopped (SIGTERM, then SIGKILL) with its kernels when the block exits.
    """
    import json
    import secrets
    import signal

    token = secrets.token_hex(16)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="dlbook-jlab-") as home:
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(Path(home) / "config"),
            "JUPYTER_RUNTIME_DIR": str(Path(home) / "runtime"),
            "JUPYTERLAB_WORKSPACES_DIR": str(Path(home) / "workspaces"),
            "JUPYTERLAB_SETTINGS_DIR": str(Path(home) / "settings"),
            "IPYTHONDIR": str(Path(home) / "ipython"),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        }
        env.pop("JPY_SESSION_NAME", None)
        for name, content in (settings or {}).items():
            target = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(content), encoding="utf-8")
        log = open(Path(home) / "server.log", "w+b")  # noqa: SIM115 (closed below)
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root_dir}",
            "--ServerApp.open_browser=False",
            "--ServerApp.allow_root=True",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--ServerApp.shutdown_no_activity_timeout=900",
        ]
        proc = subprocess.Popen(
            cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(
                        "jupyter lab exited early:\n" + log.read().decode(errors="replace")[-3000:]
                    )
                try:
                    with urllib.request.urlopen(f"{base}api/status?token={token}", timeout=5):
                        break
                except OSError as err:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"jupyter lab did not answer in {timeout} s") from err
                    time.sleep(0.5)
            yield base, token
        finally:
            _shutdown_kernels(base, token)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            # kernels run in the server's process group; anything left there goes too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
