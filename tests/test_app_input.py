"""What a student types or uploads: strict fields, plain-text messages, bounded Steps (no browser).

The same inputs in a real browser: ``tests/test_browser.py``.
"""

import asyncio
import logging

import numpy as np
import param
import pytest

pn = pytest.importorskip("panel")

import inputs
import main
from main import App

from core.model.parameters import ModelParameters

from conftest import HOSTILE, hostile_network_file



@pytest.fixture(autouse=True)
def _reset_panel_state():
    yield
    pn.state.reset()


@pytest.mark.parametrize("text", ["-5", "3.7", "1e20", "", "abc", "2147483648", "+3", "0x10",
                                  "1 2", HOSTILE, "9" * 500])
def test_a_bad_seed_is_refused_named_and_the_field_shows_the_seed_in_use(text):
    app = App(seed=4)
    app._seed_field.widget.value = text
    assert app.seed == 4 and app.simulation.seed == 4
    assert app._seed_field.widget.value == "4"
    assert app.message.startswith("Not changed: seed ")
    assert "whole number" in app.message or "too large" in app.message
    assert len(app.message) < 200  # a long entry is quoted cut, not echoed whole
    app._seed_field.widget.value = " 7 "
    assert app.seed == 7 and app.simulation.seed == 7
    assert app.message == ""


@pytest.mark.parametrize("text, reason", [
    ("-5-10-3", "no signs"), ("30--10", "no signs"), ("30-50-", "no signs"),
    ("3.5-4-2", "no signs"), ("30-0-10", "at least one neuron"),
    ("30-x", "whole numbers"), ("30-10", "at least one hidden layer"), (HOSTILE, "whole numbers"),
    ("1000-1000-1000", "at most 500,000"),
])
def test_bad_layer_sizes_are_refused_and_the_running_network_stays(text, reason):
    app = App(scenario="fig2")
    running = app.simulation
    app._sizes_field.widget.value = text
    assert app.simulation is running and app.simulation.network.sizes == (30, 50, 10)
    assert app.layer_sizes == "" and app._sizes_field.widget.value == ""
    assert app.message.startswith("Not changed: ") and reason in app.message
    app._sizes_field.widget.value = "20-30-10"
    assert app.simulation.network.sizes == (20, 30, 10)
    assert app.message == ""


def test_layer_sizes_set_from_code_are_refused_the_same_way():
    app = App(scenario="fig2", layer_sizes="20-30-10")
    app.layer_sizes = "-5-10-3"
    assert app.layer_sizes == "20-30-10"  # the last good choice is restored
    assert app._sizes_field.widget.value == "20-30-10"
    assert app.simulation.network.sizes == (20, 30, 10)
    assert "no signs" in app.message


@pytest.mark.parametrize("text", ["-1", "abc", "", "nan", "inf", "-inf", "1e400", HOSTILE])
def test_a_bad_learning_rate_is_refused_and_the_field_shows_the_rate_in_use(text):
    app = App(scenario="fig2")
    params = app.simulation.network.params
    before = list(params.eta_PP_up)
    field = app._rate_fields["eta_PP_up"][1]
    shown = field.widget.value
    field.widget.value = text
    assert params.eta_PP_up == before
    assert field.widget.value == shown
    assert app.message.startswith("Not changed: η^PP_k,k-1, layer 2 = ")
    assert "NaN" not in field.widget.value
    field.widget.value = "0.05"
    assert params.eta_PP_up == [before[0], 0.05]
    assert app.message == ""  # the refusal no longer holds


def test_a_rate_set_from_code_shows_in_its_field():
    app = App(scenario="fig2")
    app.simulation.network.params.eta_PP_up = [0.25, 0.125]
    assert [f.widget.value for f in app._rate_fields["eta_PP_up"]] == ["0.25", "0.125"]


def test_a_refused_slider_value_moves_the_slider_back(monkeypatch):
    app = App(scenario="fig1")
    slider = app._sliders["g_A"]
    params = app.simulation.network.params

    def refuse(event):  # the model refuses this value (as it does for impossible combinations)
        with param.parameterized.discard_events(params):
            params.g_A = event.old
        raise ValueError("parameter 'g_A' = 1.5 refused for this test")

    params.param.watch(refuse, "g_A")
    with param.edit_constant(slider):
        slider.value_throttled = 1.5
    assert params.g_A == 0.8 and slider.value == 0.8
    assert app.message == "Not changed: parameter 'g_A' = 1.5 refused for this test"


def test_messages_are_plain_text():
    app = App()
    app.message = HOSTILE
    shown = app._alert.object
    assert "<" not in shown and ">" not in shown
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;&lt;img" in shown
    assert app._alert.visible
    app.message = ""
    assert not app._alert.visible


def test_an_uploaded_file_with_markup_in_its_header_is_refused_as_text():
    app = App(scenario="fig2")
    app.load_network(hostile_network_file(app.simulation.network))
    assert app.message.startswith("Not loaded (the running network is unchanged)")
    assert "<script" not in app._alert.object and "&lt;script&gt;" in app._alert.object


def test_random_bytes_and_unexpected_failures_keep_the_session_and_keep_bytes_out_of_the_log(
        monkeypatch, caplog):
    app = App(scenario="fig2")
    running = app.simulation.network
    app.load_network(np.random.default_rng(0).bytes(5000))
    assert app.message.startswith("Not loaded (the running network is unchanged)")
    assert "pickle" not in app.message
    secret = b"PAYLOAD-" * 100

    def explode(content, **options):
        raise RecursionError(content)

    monkeypatch.setattr(main.storage, "from_bytes", explode)
    with caplog.at_level(logging.DEBUG):
        app.load_network(secret)
    assert app.message == ("Not loaded (the running network is unchanged): not a network file "
                           "saved by this app")
    assert "PAYLOAD" not in caplog.text and "RecursionError" in caplog.text
    assert app.simulation.network is running
    app.step()
    assert app.simulation.network.state.time == pytest.approx(10.0)


def test_a_long_step_continues_over_the_play_loops_ticks_to_the_same_state(monkeypatch):
    at_once = App(scenario="fig1")
    at_once.step()  # no event loop: the whole pattern at once
    app = App(scenario="fig1")
    # as if the network were large: 100 steps fill a piece's time budget
    monkeypatch.setattr(app.simulation, "advance_for", lambda seconds, max_steps, samples:
                        app.simulation.advance(min(100, max_steps), samples=samples))
    statuses = []

    async def step_under_a_loop():
        app.step()
        statuses.append(app.status)
        for _ in range(2000):
            if app._step_left == 0:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"the step did not finish: {app._step_left} steps left")

    asyncio.run(step_under_a_loop())
    assert "stepping: 10% of the pattern" in statuses[0]  # 100 of 1000 steps per piece
    assert "stepping" not in app.status
    assert not main.sessions.conductor.is_playing(app)
    assert app.simulation.network.state.time == pytest.approx(100.0)
    np.testing.assert_array_equal(app.simulation.network.state.u_P[1],
                                  at_once.simulation.network.state.u_P[1])


def test_the_status_line_counts_one_pattern_in_the_singular():
    app = App(scenario="fig1")
    assert " · 1 pattern · " in app.status


def test_parsers_directly():
    assert inputs.parse_layer_sizes(" 30, 50 10 ") == [30, 50, 10]
    assert inputs.parse_layer_sizes("  ") is None
    assert inputs.parse_seed("0012", 99) == 12
    assert inputs.parse_rate("1_000", "eta") == 1000.0
    assert inputs.quoted("x" * 100) == repr("x" * inputs.MAX_QUOTED + "…")
    assert inputs.format_number(0.1) == "0.1" and inputs.format_number(2.0) == "2"


def test_a_coarse_time_step_is_named_next_to_the_sliders():
    app = App(scenario="fig1")
    assert not app._accuracy_note.visible
    with param.edit_constant(app._sliders["dt"]):
        app._sliders["dt"].value_throttled = 0.5
    assert app._accuracy_note.visible
    assert "dt = 0.5 ms is stable but inaccurate" in app._accuracy_note.object
    app.simulation.network.params.dt = 0.1
    assert not app._accuracy_note.visible


def test_every_slider_at_its_minimum_then_at_its_maximum_refuses_or_runs(monkeypatch):
    """A student dragging each slider to an end, one after another: each value is applied or
    refused with a message, and Step keeps working (no exception reaches Panel)."""
    for end in (0, 1):
        app = App(scenario="fig2")
        for name, slider in app._sliders.items():
            with param.edit_constant(slider):
                slider.value_throttled = ModelParameters.param[name].get_soft_bounds()[end]
            assert slider.value == getattr(app.simulation.network.params, name)
        app.step()
        assert app.simulation.network.state.time > 0 or app.message.startswith("Paused: ")
