"""Shared fixtures: a real ``panel serve app/`` on a free local port."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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


@pytest.fixture(scope="session")
def served_app():
    """Start the README's ``panel serve app/`` on 127.0.0.1; yield the URL of /app."""
    server, url = start_server()
    yield url
    server.terminate()
    server.wait(timeout=30)
