"""The dashboard in a real browser (headless Chromium driven by Playwright).

Needs Debian's Chromium at /usr/bin/chromium (``.ci/run`` installs it and sets REQUIRE_BROWSER=1,
so CI fails rather than skips when it is missing). A screenshot lands in test-artifacts/.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# The page template asks for web fonts on a CDN; on an offline machine that request fails. It is
# a network error, not an error of the app.
OFFLINE_NOISE = "net::ERR_NAME_NOT_RESOLVED"

if not os.path.exists(CHROMIUM):
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError(f"REQUIRE_BROWSER is set but {CHROMIUM} is missing: "
                           "apt-get install chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("console", lambda message: page.errors.append(message.text)
                if message.type == "error" and OFFLINE_NOISE not in message.text else None)
        yield page
        browser.close()


def test_page_loads_steps_and_shows_no_javascript_errors(page, served_app):
    page.goto(served_app)
    step = page.get_by_role("button", name="Simulate one pattern")
    step.wait_for(timeout=60_000)
    step.click()
    page.get_by_text("t = 100.0 ms").wait_for(timeout=60_000)
    page.wait_for_timeout(3000)  # let Bokeh draw the new figure
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-after-step.png"))
    assert page.errors == []
    assert page.locator("canvas").count() > 0


def test_reset_returns_the_clock_to_zero_in_the_browser(page, served_app):
    page.goto(served_app)
    reset = page.get_by_role("button", name="Reset")
    reset.wait_for(timeout=60_000)
    page.get_by_role("button", name="Simulate one pattern").click()
    page.get_by_text("t = 100.0 ms").wait_for(timeout=60_000)
    reset.click()
    page.get_by_text("t = 0 ms").wait_for(timeout=60_000)
    assert page.errors == []
