"""What the browser tests share: Debian's Chromium driven by Playwright, offline like a classroom.

Every page goes through a Playwright route: a request to a host other than 127.0.0.1/localhost is
recorded in ``page.external`` and aborted, as on a machine without internet, so a test sees both
what the page asked for and what it shows without it. JavaScript errors land in ``page.errors``.

Import this module from a test module only: without Chromium it skips the importing module (or,
with REQUIRE_BROWSER=1 as ``.ci/run`` sets it, fails, so CI cannot pass by skipping).
"""

import os
from urllib.parse import urlparse

import pytest

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
VIEWPORT = {"width": 1400, "height": 1000}

if not os.path.exists(CHROMIUM):
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError(f"REQUIRE_BROWSER is set but {CHROMIUM} is missing: "
                           "apt-get install chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

PLOTS_ARRIVED = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0 &&
    Bokeh.documents[0].get_model_by_name("traces") !== null"""
"""Browser check: the dashboard's plots are in the page (the streamed trace source that
app/plots.py names "traces" exists)."""


def launch(playwright):
    """Headless Chromium that itself asks no server for updates, sync or components."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"])


def offline_page(browser):
    """A new page whose requests to other hosts are recorded in ``page.external`` and aborted,
    and whose JavaScript errors (uncaught, or logged as errors) are collected in ``page.errors``."""
    page = browser.new_page(viewport=VIEWPORT)
    page.external, page.errors = [], []

    def route(request_route):
        url = request_route.request.url
        if urlparse(url).hostname in LOCAL_HOSTS:
            request_route.continue_()
        else:
            page.external.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: page.errors.append(message.text)
            if message.type == "error" else None)
    return page


def screenshot(page, name, full_page=False):
    """Save a screenshot of ``page`` as a test artifact (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)
