"""The dashboard in a real browser (headless Chromium driven by Playwright).

Needs Debian's Chromium at /usr/bin/chromium (``.ci/run`` installs it and sets REQUIRE_BROWSER=1,
so CI fails rather than skips when it is missing). Each page runs offline, as in a classroom
without internet: a request to another host is aborted and fails the test. Screenshots land in
test-artifacts/.
"""

import re
import time

import pytest
from playwright import sync_api

from browser_support import PLOTS_ARRIVED, offline_page, screenshot

NUDGING_OFF = "Nudging off (click: show the target)"

# The streamed trace source of the page (named "traces" by app/plots.py), read in BokehJS.
READ_TRACES = """(column) => {
    const source = Bokeh.documents[0].get_model_by_name("traces");
    const data = source.data instanceof Map ? source.data.get(column) : source.data[column];
    return Array.from(data);
}"""


def _open(browser, url):
    """A fresh session of the app, offline (:func:`browser_support.offline_page`), with its
    plots arrived."""
    page = offline_page(browser)
    page.goto(url)
    page.get_by_role("button", name="Step one pattern").wait_for(timeout=60_000)
    # the server builds the page in stages after it has loaded; the plots come last
    page.wait_for_function(PLOTS_ARRIVED, timeout=60_000)
    return page


@pytest.fixture
def page(browser, served_app):
    """A fresh session of the app; the test fails if the page asked any other host."""
    page = _open(browser, served_app)
    yield page
    external = page.external
    page.close()
    assert external == [], f"the page asked other hosts for {external}"


def _traces(page, column):
    return page.evaluate(READ_TRACES, column)


def _wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    if message is None:
        return None
    raise AssertionError(message)


def test_step_draws_and_the_page_has_no_javascript_errors(page):
    page.get_by_role("button", name="Step one pattern").click()
    page.get_by_text("t = 100.0 ms").wait_for(timeout=120_000)
    # 100 samples asked, at least 50 steps apart; the last ones may follow the status line when
    # the Step ran over several ticks (the NumPy path while numba compiles)
    _wait_for(lambda: len(_traces(page, "v_A1[0]")) == 20, 30,
              "the page did not show the Step's 20 samples")
    page.wait_for_timeout(2000)  # let Bokeh draw and KaTeX typeset
    screenshot(page, "app-after-step.png", full_page=True)
    assert page.locator("canvas").count() >= 6
    assert page.errors == []  # includes KaTeX parse errors of the equations panel


def test_play_streams_apical_data_and_nudging_wakes_the_apical_error(page):
    page.get_by_role("button", name="▶ Play").click()
    first = _wait_for(lambda: _traces(page, "time"), 30, "Play streamed no samples")
    _wait_for(lambda: _traces(page, "time")[-1] > first[-1] + 300, 30,
              "the apical trace did not advance while playing")
    silent = sorted(_traces(page, "apical_sq"))
    silent_level = silent[len(silent) // 2]
    switched_at = _traces(page, "time")[-1]
    # While playing, a software-rendered headless browser on a loaded machine may paint only a
    # few frames per second, and Playwright's click waits for painted frames; a DOM click event
    # reaches the button's handler without waiting for paint.
    page.get_by_role("button", name=NUDGING_OFF).dispatch_event("click")
    page.get_by_role("button", name="Nudging on: target shown (click: off)").wait_for(timeout=60_000)

    def risen():
        times, apical = _traces(page, "time"), _traces(page, "apical_sq")
        after = [a for t, a in zip(times, apical) if t > switched_at]
        return after and max(after) > 5 * silent_level

    if not _wait_for(risen, 15, None):
        times, apical = _traces(page, "time"), _traces(page, "apical_sq")
        raise AssertionError(f"mean v_A^2 did not rise above 5x its silent level {silent_level:.3g} "
                             f"within 15 s of nudging (switched at t = {switched_at} ms; samples "
                             f"since: {[(t, a) for t, a in zip(times, apical) if t > switched_at]})")
    page.get_by_role("button", name="Pause").dispatch_event("click")
    screenshot(page, "app-nudged.png")
    assert page.errors == []


def test_a_slider_reaches_the_model_and_reset_returns_the_clock(page, served_app):
    handle = page.locator(".noUi-handle").first  # g_lk, the first parameter slider
    handle.focus()
    handle.press("ArrowRight")  # one step: 0.10 -> 0.11, sent on release like a drag
    # the equations panel is rendered by the server from the model's parameters
    page.get_by_text("0.11").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Step one pattern").click()
    try:
        page.get_by_text("t = 100.0 ms").wait_for(timeout=120_000)  # numba may be compiling
    except sync_api.TimeoutError:
        screenshot(page, "app-slider-step.png", full_page=True)
        from conftest import served_app_log

        status = page.get_by_text("ms simulated per second").all_inner_texts()
        raise AssertionError(f"no 't = 100.0 ms' after Step; status line: {status}; server log "
                             f"ends:\n{served_app_log(served_app)}") from None
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("t = 0.0 ms").wait_for(timeout=60_000)
    assert page.errors == []


def test_extreme_sliders_pause_with_a_message_and_reset_recovers(page):
    handles = page.locator(".noUi-handle")  # g_lk, g_B, g_A, g_D, g_som, dt, ... in this order
    handles.nth(2).focus()
    handles.nth(2).press("End")  # g_A to the end of its slider, 2
    handles.nth(5).focus()
    handles.nth(5).press("End")  # dt to 1 ms: beyond the Euler bound 2 / (0.1 + 1 + 2) ms
    page.get_by_text("Δt: 1", exact=False).first.wait_for(timeout=30_000)
    page.get_by_role("button", name="▶ Play").click()
    try:
        page.get_by_text(re.compile(r"Paused: dt = 1(\.0)? ms is at or beyond the Euler stability "
                                    r"bound")).wait_for(timeout=30_000)
    finally:
        screenshot(page, "app-unstable.png")
    page.get_by_role("button", name="▶ Play").wait_for(timeout=30_000)  # the loop stopped
    page.get_by_role("button", name="Reset").click()
    page.get_by_role("button", name="Step one pattern").click()
    page.get_by_text("t = 100.0 ms").wait_for(timeout=60_000)
    assert page.get_by_text("Paused:").count() == 0
    assert page.errors == []


def test_hostile_sizes_and_a_hostile_file_show_as_text_and_run_no_script(page, tmp_path):
    """What a student types into Layer sizes, and a network file shared by another student,
    reach the page only as text: no script runs, no markup renders."""
    from conftest import HOSTILE, hostile_network_file
    from live import LiveSimulation

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sizes = page.get_by_placeholder("e.g. 30-50-10 (empty: the scenario's)")
    sizes.fill(HOSTILE)
    sizes.press("Enter")
    page.get_by_text("Not changed: layer sizes '<script>window.__xss = 1</script><b>bold",
                     exact=False).wait_for(timeout=30_000)
    assert sizes.input_value() == ""  # the field shows the sizes in use again

    path = tmp_path / "shared.npz"
    path.write_bytes(hostile_network_file(LiveSimulation("fig1").network))
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("Not loaded (the running network is unchanged)",
                     exact=False).wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # time for an injected script or image handler to run
    screenshot(page, "app-hostile-input.png")
    assert page.get_by_text("<script>window.__xss = 1</script><b>bold</b>",
                            exact=False).count() == 1  # the file's header, quoted as text
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert page.locator("b", has_text="bold").count() == 0
    assert page.locator("img[src=x]").count() == 0
    assert page.errors == []


MODEL_COUNT = "() => Bokeh.documents[0].all_models.size"


def test_a_page_that_plays_on_after_reset_lets_go_of_the_replaced_plots(page):
    """Reset builds new plots and sliders; a page that plays on must not keep the old ones (with
    their data). BokehJS kept them while patches kept arriving (~330 models a rebuild)."""
    page.wait_for_timeout(1000)
    models = page.evaluate(MODEL_COUNT)
    for _ in range(2):
        page.get_by_role("button", name="▶ Play").dispatch_event("click")
        page.get_by_role("button", name="Pause").wait_for(timeout=30_000)
        page.wait_for_timeout(2000)
        page.get_by_role("button", name="Reset").dispatch_event("click")
        page.get_by_text("t = 0.0 ms").wait_for(timeout=60_000)
    page.get_by_role("button", name="▶ Play").dispatch_event("click")
    page.wait_for_timeout(3000)  # playing: a patch every tick
    after = page.evaluate(MODEL_COUNT)
    page.get_by_role("button", name="Pause").dispatch_event("click")
    assert after <= models + 20, (models, after)
    assert page.errors == []


# the page's count of drawn traces updates (app/plots.py: the traces source's tags)
ACKNOWLEDGED = """() => { for (const model of Bokeh.documents[0].all_models)
    if (model.tags && model.tags.length && typeof model.tags[0] === "number") return model.tags[0];
    return null; }"""


def test_a_slow_page_stays_close_behind_and_pause_shows_soon(page):
    """A browser six times slower than this machine (CPU throttling) plays for 10 s: the server
    holds what the page has not caught up with instead of queueing it, so Pause shows within
    seconds. (Without backpressure the page had not even shown "Pause" 30 s after Play.)"""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 6})
    page.get_by_role("button", name="▶ Play").dispatch_event("click")
    page.get_by_role("button", name="Pause").wait_for(timeout=30_000)
    page.wait_for_timeout(10_000)
    assert page.evaluate(ACKNOWLEDGED) > 0  # the page acknowledges what it has applied
    paused = time.monotonic()
    page.get_by_role("button", name="Pause").dispatch_event("click")
    page.get_by_role("button", name="▶ Play").wait_for(timeout=20_000)
    waited = time.monotonic() - paused
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    screenshot(page, "app-slow-page.png")
    assert waited < 20, waited
    assert page.errors == []


# a column of a named data source of the page (app/plots.py names them), read in BokehJS
# The newest of that name: the page keeps the models of the plots a rebuild replaced (BokehJS
# does not drop them), and model ids grow.
READ_SOURCE = """([name, column]) => {
    const number = (model) => parseInt(String(model.id).replace(/[^0-9]/g, ""));
    const sources = [...Bokeh.documents[0].all_models].filter((model) => model.name === name);
    if (!sources.length)
        return null;
    const source = sources.reduce((a, b) => number(a) > number(b) ? a : b);
    const data = source.data instanceof Map ? source.data.get(column) : source.data[column];
    return Array.from(data);
}"""
STORY_SECONDS = 60


def _column(page, source, column):
    return page.evaluate(READ_SOURCE, [source, column])


def _open_scenario(browser, url, scenario):
    page = _open(browser, url)
    if scenario != "fig1":  # the default
        from core.protocols.presets import SCENARIOS
        title = SCENARIOS[scenario].title
        page.locator("select").first.select_option(label=title)
        page.get_by_text(f"{title}:", exact=False).first.wait_for(timeout=60_000)
    return page


def test_each_scenario_tells_its_story_within_a_minute_of_play(browser, served_app):
    """Three students press Play at once on S1, Fig. 1 and Fig. 2 (Fig. 1's student switches
    nudging on after 10 s). Within 60 s, what the page draws shows: S1's apical energy falling
    10x over the whole run; Fig. 1's rising 5x at the nudging mark and decaying after; Fig. 2's
    learning curve. Screenshots of the three once all three show it are saved as test
    artifacts."""
    pages = {name: _open_scenario(browser, served_app, name) for name in ("fig-s1", "fig1", "fig2")}
    for page in pages.values():
        page.get_by_role("button", name="▶ Play").dispatch_event("click")
    started = time.monotonic()
    page_s1, page_fig1 = pages["fig-s1"], pages["fig1"]
    _wait_for(lambda: len(_column(page_fig1, "whole_run", "time")) >= 10, 30,
              "Fig. 1's whole-run plot got no data in 30 s")
    page_fig1.wait_for_timeout(max(0.0, 10 - (time.monotonic() - started)) * 1000)
    page_fig1.get_by_role("button", name=NUDGING_OFF).dispatch_event("click")
    page_fig1.get_by_role("button", name="Nudging on: target shown (click: off)").wait_for(
        timeout=30_000)

    def s1_fell():
        apical = [a for a in _column(page_s1, "whole_run", "apical_sq1") if a == a]
        return len(apical) > 3 and apical[0] >= 10 * sum(apical[-3:]) / 3

    def fig1_woke_and_faded():
        """As app/guide.py has it: the bins' largest samples after the mark against the bins'
        means before it, and the means of the last bins against the peak."""
        onsets = _column(page_fig1, "events", "time")
        times = _column(page_fig1, "whole_run", "time")
        means = _column(page_fig1, "whole_run", "apical_sq1")
        largest = _column(page_fig1, "whole_run", "apical_sq1_max")
        if not onsets:
            return False
        before = [a for t, a in zip(times, means) if t < onsets[0]][-5:-1]  # not the onset's bin
        after = [(a, m) for t, a, m in zip(times, largest, means) if t > onsets[0]]
        if not before or len(after) < 5:
            return False
        peak = max(a for a, _ in after)
        recent = [m for _, m in after[-3:]]
        return peak >= 5 * sum(before) / len(before) and sum(recent) / 3 <= peak / 3 and \
            [a for a, _ in after].index(peak) < len(after) - 3

    def fig2_learned():
        learning = _column(pages["fig2"], "progress", "test_error")
        return len(learning) > 10 and learning[-1] < learning[0]

    def guides_ticked():  # the guided path ticked what each student did and saw
        return (page_fig1.get_by_text("✓ done:").count() == 4
                and page_s1.get_by_text("✓ done:").count() >= 2)

    deadline = started + STORY_SECONDS
    results = {}
    while time.monotonic() < deadline and not (len(results) == 3 and guides_ticked()):
        if "fig-s1" not in results and s1_fell():
            results["fig-s1"] = time.monotonic() - started
        if "fig1" not in results and fig1_woke_and_faded():
            results["fig1"] = time.monotonic() - started
        if "fig2" not in results and fig2_learned():
            results["fig2"] = time.monotonic() - started
        time.sleep(1)
    for name, page in pages.items():
        screenshot(page, f"story-{name}.png", full_page=True)
        page.get_by_role("button", name="Pause").dispatch_event("click")
    assert "fig-s1" in results, (
        f"S1's whole-run apical energy did not fall 10x in {STORY_SECONDS} s: "
        f"{_column(page_s1, 'whole_run', 'apical_sq1')}")
    assert "fig1" in results, (
        f"Fig. 1's apical energy did not rise 5x at the nudging mark and decay in "
        f"{STORY_SECONDS} s: events {_column(page_fig1, 'events', 'label')}, bins "
        f"{list(zip(_column(page_fig1, 'whole_run', 'time'), _column(page_fig1, 'whole_run', 'apical_sq1_max')))}")
    assert _column(page_fig1, "events", "label") == ["nudging on"]
    assert "fig2" in results, (f"Fig. 2's test error did not fall in {STORY_SECONDS} s: "
                               f"{_column(pages['fig2'], 'progress', 'test_error')}")
    assert page_fig1.get_by_text("✓ done:").count() == 4, "Fig. 1's guide"
    assert page_s1.get_by_text("✓ done:").count() >= 2, "S1's guide"
    for page in pages.values():
        assert page.errors == []
        assert page.external == []
        page.close()
