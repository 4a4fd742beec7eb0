"""Every named preset and live scenario, collected from the figures' modules.

A preset is a network architecture plus the parameters that differ from the defaults
(:class:`~core.protocols.configuration.Preset`); each is defined, with the provenance of its
values, next to the experiment it belongs to (:mod:`.self_prediction`, :mod:`.fig1`, :mod:`.fig2`,
:mod:`.classification`). Presets only override :class:`~core.model.parameters.ModelParameters`;
every value they do not name is the parameter's declared default.
"""

from __future__ import annotations

from . import classification, fig1, fig2, self_prediction

_FIGURES = (self_prediction, fig1, fig2, classification)
PRESETS = {preset.name: preset for figure in _FIGURES for preset in figure.PRESETS}
SCENARIOS = {scenario.name: scenario for figure in _FIGURES for scenario in figure.SCENARIOS}
"""What the live simulation can show (:class:`~core.protocols.configuration.Scenario`)."""


def get_preset(name):
    """The :class:`~core.protocols.configuration.Preset` called ``name``."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None


def get_scenario(name):
    """The :class:`~core.protocols.configuration.Scenario` called ``name``."""
    try:
        return SCENARIOS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name, e.g. a list
        raise ValueError(f"unknown scenario {name!r}; choose one of {sorted(SCENARIOS)}") from None
