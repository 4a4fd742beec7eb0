"""Shared fixtures: a real ``panel serve app/`` on a free local port; headless Chromium; hostile
input."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

# A suite started in the background of a non-interactive shell (`cmd &`, nohup) inherits SIGINT
# ignored, and the command line rightly leaves an ignored SIGINT alone: the Ctrl-C tests would
# then see no Ctrl-C. They need SIGINT as a terminal gives it, here and in the processes they
# start (an ignored signal stays ignored across exec, a handled one does not).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parents[1]
# the dashboard's modules import each other by name, as `panel serve app/` runs them
sys.path.insert(0, str(ROOT / "app"))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*extra_args, output=None, env=None):
    """Start ``panel serve app/`` on a free port of 127.0.0.1 and wait until /app answers.

    Its output goes to ``output`` (an open file) or, by default, to a temporary file, read back
    in :func:`server_log`: never to a pipe that nobody reads, which would stop the server once
    the pipe's buffer is full.

    Returns
    -------
    server : subprocess.Popen
    url : str
        The URL of /app.
    """
    port = _free_port()
    log = output if output is not None else tempfile.TemporaryFile()
    server = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", "app/", "--port", str(port), "--address",
         "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", *extra_args],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    server.log = log
    url = f"http://127.0.0.1:{port}/app"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30):
                return server, url
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                server.wait(timeout=30)
                pytest.fail(f"panel serve app/ did not answer:\n{server_log(server)}")
            time.sleep(0.5)


def stop_server(server):
    """Stop a server of :func:`start_server` and close its log file."""
    server.terminate()
    try:
        server.wait(timeout=30)
    finally:
        server.log.close()


def server_log(server, last=5000):
    """The last ``last`` bytes of what a server of :func:`start_server` printed (read without
    moving the file offset it writes at)."""
    fd = server.log.fileno()
    size = os.fstat(fd).st_size
    start = max(0, size - last)
    return os.pread(fd, size - start, start).decode(errors="replace")


_served = {}  # URL: the server of served_app


def served_app_log(url):
    """The end of the log of :func:`served_app`'s server at ``url`` (for failure messages)."""
    return server_log(_served[url]) if url in _served else "(not served by served_app)"


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
    _served[url] = server
    yield url
    stop_server(server)


HOSTILE = ("<script>window.__xss = 1</script><b>bold</b>"
           "<img src=x onerror=\"window.__xss = 1\">")
"""Markup a student might type or put into a shared file: shown as text, it runs nothing."""


def hostile_network_file(network):
    """A saved ``network`` whose header's format field is :data:`HOSTILE` (a shared file)."""
    from core.io import storage

    with np.load(io.BytesIO(storage.to_bytes(network))) as saved:
        arrays = {name: saved[name] for name in saved.files}
    header = json.loads(arrays["header"].tobytes())
    header["format"] = HOSTILE
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
