"""One source of truth for parameters: metadata, presets, independence of instances."""

import pytest

from core.model.parameters import (CONSTRAINTS, MAX_CONDUCTANCE, MAX_THRESHOLD, MAX_TIME_STEP,
                             PROVENANCES, ModelParameters, parameter_names,
                             parameter_table)
from core.protocols.presets import PRESETS, get_preset


def test_every_parameter_has_symbol_doc_and_provenance():
    rows = parameter_table()
    assert {row["name"] for row in rows} == set(parameter_names())
    for row in rows:
        assert row["symbol"], row["name"]
        assert row["doc"], row["name"]
        assert row["provenance"] in PROVENANCES, row["name"]


def test_paper_defaults():
    p = ModelParameters()
    assert (p.g_lk, p.g_B, p.g_A, p.g_D, p.g_som) == (0.1, 1.0, 0.8, 1.0, 0.8)
    assert (p.dt, p.presentation_time, p.tau_w, p.tau_0) == (0.1, 100.0, 30.0, 3.0)
    assert (p.gamma, p.beta, p.theta) == (0.1, 1.0, 3.0)


def test_instances_do_not_share_values():
    a, b = ModelParameters(), ModelParameters()
    a.g_A = 0.1
    a.eta_PP_up.append(0.5)
    assert b.g_A == 0.8 and b.eta_PP_up == [0.0011875, 0.0005]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build_valid_networks(name):
    preset = get_preset(name)
    params = preset.make_parameters()
    for key, value in preset.parameters.items():
        assert getattr(params, key) == value
    if preset.layer_sizes[0] < 100:
        net = preset.make_network(seed=0)
        assert net.sizes == preset.layer_sizes


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'fig9'"):
        get_preset("fig9")


def test_reversal_potentials_must_be_ordered():
    with pytest.raises(ValueError, match="E_exc"):
        ModelParameters(E_exc=-2.0)
    p = ModelParameters()
    with pytest.raises(ValueError, match="E_inh = 10.0 rejected"):
        p.E_inh = 10.0
    assert p.E_inh == pytest.approx(-1 / 3)


def test_widget_labels_are_the_papers_symbols_in_plain_text():
    assert ModelParameters.param["g_lk"].label == "g_lk"
    assert ModelParameters.param["dt"].label == "Δt"
    assert ModelParameters.param["tau_w"].label == "τ_w"
    assert ModelParameters.param["eta_PP_up"].label == "η^PP_k,k-1"


def test_every_cross_parameter_rule_relates_real_parameters_and_holds_for_the_defaults():
    for constraint in CONSTRAINTS:
        assert set(constraint.names) <= set(parameter_names()), constraint.rule
        assert constraint.holds(ModelParameters()), constraint.rule
        for preset in PRESETS.values():
            assert constraint.holds(preset.make_parameters()), (preset.name, constraint.rule)


@pytest.mark.parametrize("name, value, allowed", [
    ("g_B", 1000.5, r"\[0, 1000.0\]"), ("dt", 1000.5, r"\(0, 1000.0\]"),
    ("theta", -2e6, r"\[-1000000.0, 1000000.0\]")])
def test_values_beyond_the_arithmetic_are_out_of_range(name, value, allowed):
    # up to the limits themselves, values are accepted
    ModelParameters(g_B=MAX_CONDUCTANCE, dt=MAX_TIME_STEP, theta=-MAX_THRESHOLD)
    with pytest.raises(ValueError, match=rf"'{name}' = {value!r} is out of range; allowed: {allowed}"):
        ModelParameters(**{name: value})
