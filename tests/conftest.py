"""Shared fixtures: a real ``panel serve app/`` on a free local port; headless Chromium; hostile
input."""

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*extra_args, output=subprocess.PIPE, env=None):
    """Start ``panel serve app/`` on a free port of 127.0.0.1 and wait until /app answers.

    Returns
    -------
    server : subprocess.Popen
    url : str
        The URL of /app.
    """
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", "app/", "--port", str(port), "--address",
         "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", *extra_args],
        cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/app"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30):
                return server, url
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                log = server.stdout.read().decode() if server.stdout else "(see its log file)"
                pytest.fail(f"panel serve app/ did not answer:\n{log}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module (see browser_support.py). Not for the session:
    Playwright's sync API runs an asyncio loop on this thread while it is open, and later
    modules' ``asyncio.run`` would fail inside it."""
    import browser_support

    with browser_support.sync_api.sync_playwright() as playwright:
        browser = browser_support.launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def served_app():
    """Start the README's ``panel serve app/`` on 127.0.0.1; yield the URL of /app."""
    server, url = start_server()
    yield url
    server.terminate()
    server.wait(timeout=30)


HOSTILE = ("<script>window.__xss = 1</script><b>bold</b>"
           "<img src=x onerror=\"window.__xss = 1\">")
"""Markup a student might type or put into a shared file: shown as text, it runs nothing."""


def hostile_network_file(network):
    """A saved ``network`` whose header's format field is :data:`HOSTILE` (a shared file)."""
    from core import storage

    with np.load(io.BytesIO(storage.to_bytes(network))) as saved:
        arrays = {name: saved[name] for name in saved.files}
    header = json.loads(arrays["header"].tobytes())
    header["format"] = HOSTILE
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
