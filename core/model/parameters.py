r"""Every model parameter, declared once.

Each parameter carries its paper symbol (LaTeX), default, bounds, documentation and provenance:

* ``"paper"`` -- stated in the main text of Sacramento et al. (2018),
* ``"SM?"``   -- the value every independent reimplementation agrees on, most likely the
  supplementary material's (which is not at hand),
* ``"guess"`` -- our own choice where the paper is silent,
* ``"ours"``  -- a switch of this implementation, not a parameter of the model.

Widgets, presets, notebooks and the command line read parameters from :class:`ModelParameters`;
nothing else defines a default.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import param

PROVENANCES = ("paper", "SM?", "guess", "ours")


_GREEK = {r"\Delta": "Δ", r"\sigma": "σ", r"\tau": "τ", r"\gamma": "γ", r"\beta": "β",
          r"\theta": "θ", r"\eta": "η", r"\varphi": "φ", r"\uparrow": "↑", r"\downarrow": "↓"}


def plain_symbol(symbol):
    r"""The LaTeX symbol as plain text for widget labels: ``g_\mathrm{lk}`` -> ``g_lk``."""
    text = symbol.replace(r"\mathrm", "")
    for latex, letter in _GREEK.items():
        text = text.replace(latex, letter)
    return text.replace("{", "").replace("}", "").replace(" ", "")


def _with_label(params, symbol):
    if symbol and "label" not in params:
        params["label"] = plain_symbol(symbol)
    return params


def _check_provenance(provenance):
    if provenance not in PROVENANCES:
        raise ValueError(f"provenance must be one of {PROVENANCES}, got {provenance!r}")
    return provenance


class PaperNumber(param.Number):
    """A finite real number with the paper's symbol and the provenance of its default."""

    __slots__ = ["symbol", "provenance"]
    _slot_defaults = dict(param.Number._slot_defaults, symbol=None, provenance=None)

    def __init__(self, default=0.0, *, symbol=None, provenance=None, **params):
        super().__init__(default=default, **_with_label(params, symbol))
        self.symbol = symbol
        self.provenance = _check_provenance(provenance)

    def _validate_value(self, val, allow_None):
        # param.Number also takes True (as 1) and NumPy arrays
        if val is not None and (isinstance(val, bool) or not isinstance(val, numbers.Real)):
            raise ValueError(f"parameter {self.name!r} must be a number, not {val!r} of type "
                             f"{type(val).__name__} (allowed range: "
                             f"{_describe_bounds(self.bounds, self.inclusive_bounds)})")
        super()._validate_value(val, allow_None)
        if val is not None and not math.isfinite(val):
            raise ValueError(
                f"parameter {self.name!r} must be a finite number, not {val!r} "
                f"(allowed range: {_describe_bounds(self.bounds, self.inclusive_bounds)})"
            )

    def _validate_bounds(self, val, bounds, inclusive_bounds):
        try:
            super()._validate_bounds(val, bounds, inclusive_bounds)
        except ValueError:
            raise ValueError(
                f"parameter {self.name!r} = {val!r} is out of range; allowed: "
                f"{_describe_bounds(bounds, inclusive_bounds)}"
            ) from None


class PaperRates(param.List):
    """A list of non-negative, finite learning rates, one per layer (or one for all layers)."""

    __slots__ = ["symbol", "provenance"]
    _slot_defaults = dict(param.List._slot_defaults, symbol=None, provenance=None)

    def __init__(self, default=None, *, symbol=None, provenance=None, **params):
        super().__init__(default=list(default), item_type=numbers.Real,
                         **_with_label(params, symbol))
        self.symbol = symbol
        self.provenance = _check_provenance(provenance)

    def _validate(self, val):
        try:
            super()._validate(val)
        except TypeError:
            raise ValueError(f"parameter {self.name!r} must be a list of numbers, got {val!r}") \
                from None
        if len(val) == 0:
            raise ValueError(f"parameter {self.name!r} needs at least one learning rate, got []")
        for rate in val:
            if isinstance(rate, bool) or not math.isfinite(rate) or rate < 0:
                raise ValueError(
                    f"parameter {self.name!r} contains {rate!r}; every learning rate must be "
                    "a finite number >= 0"
                )


class PaperBoolean(param.Boolean):
    """A switch with the provenance of its default."""

    __slots__ = ["symbol", "provenance"]
    _slot_defaults = dict(param.Boolean._slot_defaults, symbol=None, provenance=None)

    def __init__(self, default=False, *, symbol=None, provenance=None, **params):
        super().__init__(default=default, **params)
        self.symbol = symbol
        self.provenance = _check_provenance(provenance)


class PaperSelector(param.Selector):
    """A choice among named options with the provenance of its default."""

    __slots__ = ["symbol", "provenance"]
    _slot_defaults = dict(param.Selector._slot_defaults, symbol=None, provenance=None)

    def __init__(self, *, objects, default, symbol=None, provenance=None, **params):
        super().__init__(objects=objects, default=default, **params)
        self.symbol = symbol
        self.provenance = _check_provenance(provenance)

    def _validate_value(self, val, allow_None=None):
        # param compares with ``in``: an array makes that ambiguous, a list unhashable
        if not any(val is option or (isinstance(val, str) and val == option)
                   for option in self.objects):
            raise ValueError(f"parameter {self.name!r} does not accept {val!r}; choose one of "
                             f"{list(self.objects)}")
        super()._validate_value(val, allow_None)


def _describe_bounds(bounds, inclusive_bounds):
    low, high = bounds if bounds is not None else (None, None)
    inc_low, inc_high = inclusive_bounds
    left = "(-inf" if low is None else ("[" if inc_low else "(") + repr(low)
    right = "inf)" if high is None else repr(high) + ("]" if inc_high else ")")
    return f"{left}, {right}"


MAX_CONDUCTANCE = 1000.0
"""Largest conductance (1/ms) accepted: a membrane time constant of 1 us, 10^4 times faster than
the paper's. Larger values mean nothing physical, and their products with potentials (up to the
simulator's runaway limit of 1e6) would leave the float range."""


MAX_TIME_STEP = 1000.0
"""Longest Euler step (ms) accepted: a second, longer than the model's time constants and
presentations (their sliders end at 500 ms), so a longer step would resolve nothing; it also keeps
the simulated time of any run in the float range (with tiny conductances the stability bound
alone would allow steps near 1e308 ms)."""


MAX_THRESHOLD = 1e6
"""Largest magnitude of the soft rectifier's threshold: a potential, and potentials beyond 1e6
count as diverged (``core.simulate.divergence.RUNAWAY``); a threshold further out would make every rate 0
or a linear function too large for the squared errors to stay in the float range."""


def _conductance(default, symbol, doc, provenance="SM?"):
    return PaperNumber(default, bounds=(0, MAX_CONDUCTANCE), softbounds=(0, 2), step=0.01,
                       symbol=symbol, provenance=provenance, doc=doc)


class ModelParameters(param.Parameterized):
    r"""All parameters of the dendritic cortical microcircuit (Sacramento et al., 2018).

    Units: time in ms, conductances in 1/ms (membrane capacitance 1), potentials and rates
    unitless, resting potential 0. Learning rates are in 1/ms: a weight changes by
    :math:`\eta \, \Delta t \, \Delta` per Euler step.

    Every value inside a parameter's bounds is accepted on its own (conductances up to
    :data:`MAX_CONDUCTANCE`, steps up to :data:`MAX_TIME_STEP`, thresholds within
    :data:`MAX_THRESHOLD`, where the arithmetic stays in the float range); combinations that leave a quantity of the model undefined are refused by
    the rules in :data:`CONSTRAINTS` (e.g. :math:`g_\mathrm{lk} + g_B > 0`): building with one
    raises ``ValueError``, and setting a parameter that breaks one raises ``ValueError`` and
    leaves the previous value in place.
    Limits that have a meaning are simulated: :math:`g_A = 0` (no feedback), :math:`g_D = 0`
    (interneuron dendrite decoupled; no self-predicting state exists then), :math:`g_B = 0`,
    :math:`g_\mathrm{som} = 0`, :math:`\sigma = 0`, :math:`\tau_w = 0`, :math:`\tau_0 = 0`,
    :math:`t_\mathrm{lag} = 0` and any :math:`\theta`.
    """

    # --- conductances (Eqs. 1-2 and the teaching currents) ---------------------------------
    g_lk = _conductance(0.1, r"g_\mathrm{lk}", "Leak conductance of every soma.")
    g_B = _conductance(1.0, r"g_B", "Coupling from the basal dendrite to the pyramidal soma.")
    g_A = _conductance(0.8, r"g_A", "Coupling from the apical dendrite to the hidden pyramidal soma.")
    g_D = _conductance(1.0, r"g_D", "Coupling from the interneuron dendrite to its soma.")
    g_som = _conductance(0.8, r"g_\mathrm{som}",
                         "Total somatic teaching conductance (output nudging and interneuron nudging).")
    E_exc = PaperNumber(14 / 3, softbounds=(0, 10), symbol=r"E_\mathrm{exc}", provenance="guess",
                        doc="Excitatory reversal potential of the conductance-based teaching "
                            "current (Urbanczik & Senn 2014's 14/3). The current equals "
                            "g_som (u_trgt - u) whatever its value.")
    E_inh = PaperNumber(-1 / 3, softbounds=(-5, 0), symbol=r"E_\mathrm{inh}", provenance="guess",
                        doc="Inhibitory reversal potential of the conductance-based teaching "
                            "current (Urbanczik & Senn 2014's -1/3).")

    # --- integration -------------------------------------------------------------------------
    dt = PaperNumber(0.1, bounds=(0, MAX_TIME_STEP), inclusive_bounds=(False, True),
                     softbounds=(0.01, 1.0),
                     step=0.01, symbol=r"\Delta t", provenance="SM?",
                     doc="Euler-Maruyama time step (ms). Must stay below the stability bound "
                         "2 / (largest total somatic conductance); once dt x (largest total "
                         "somatic conductance) exceeds 0.5 it is stable but visibly inaccurate "
                         "(core.model.validation.integration_warning).")
    sigma = PaperNumber(0.1, bounds=(0, None), softbounds=(0, 1), step=0.01, symbol=r"\sigma",
                        provenance="SM?",
                        doc="Amplitude of the somatic background noise. Euler-Maruyama adds "
                            r"sigma * sqrt(dt) * N(0, 1) per step (reimplementations that add "
                            "sigma * dt * N(0, 1) use a different sigma).")
    presentation_time = PaperNumber(100.0, bounds=(0, None), inclusive_bounds=(False, True),
                                    softbounds=(1, 500), step=1.0, symbol=r"T",
                                    provenance="SM?",
                                    doc="How long each pattern is shown (ms). The full dynamics "
                                        "show it for round(T / dt) Euler steps, at least one.")
    tau_w = PaperNumber(30.0, bounds=(0, None), softbounds=(0, 100), step=1.0,
                        symbol=r"\tau_w", provenance="SM?",
                        doc="Time constant (ms) of the low-pass filter on plasticity induction "
                            "terms before consolidation; 0 consolidates them directly.")
    tau_0 = PaperNumber(3.0, bounds=(0, None), softbounds=(0, 20), step=0.5, symbol=r"\tau_0",
                        provenance="SM?",
                        doc="Time constant (ms) of the low-pass filter through which inputs and "
                            "targets switch between patterns; 0 switches instantly.")
    learning_lag = PaperNumber(0.0, bounds=(0, None), softbounds=(0, 50), step=1.0,
                               symbol=r"t_\mathrm{lag}", provenance="guess",
                               doc="Plasticity is off for this long (ms) after each pattern switch "
                                   "(the induction trace and the weights are frozen), so that the "
                                   "settling transient is not learned.")

    # --- transfer function φ ----------------------------------------------------------------------
    transfer = PaperSelector(objects=["soft_rectifier", "logistic"], default="soft_rectifier",
                             symbol=r"\varphi", provenance="paper",
                             doc="Rate function: soft rectifier gamma*log(1+exp(beta*(u-theta))) "
                                 "(regression, Fig. 2) or logistic 1/(1+exp(-u)) (MNIST, Fig. 3).")
    gamma = PaperNumber(0.1, bounds=(0, None), inclusive_bounds=(False, True), softbounds=(0.01, 1),
                        symbol=r"\gamma", provenance="paper", doc="Soft rectifier: scale of the rate.")
    beta = PaperNumber(1.0, bounds=(0, None), inclusive_bounds=(False, True), softbounds=(0.1, 5),
                       symbol=r"\beta", provenance="paper", doc="Soft rectifier: slope.")
    theta = PaperNumber(3.0, bounds=(-MAX_THRESHOLD, MAX_THRESHOLD), softbounds=(-5, 5),
                        symbol=r"\theta", provenance="paper",
                        doc="Soft rectifier: threshold.")
    use_bias = PaperBoolean(False, symbol=r"b", provenance="paper",
                            doc="Learnable threshold per neuron: an extra input fixed at 1 with a "
                                "plastic weight (used with the logistic rate function).")

    # --- learning rates (Eqs. 7-10), one per layer or one for all --------------------------------
    eta_PP_up = PaperRates([0.0011875, 0.0005], symbol=r"\eta^{PP}_{k,k-1}", provenance="SM?",
                           doc="Bottom-up (basal) weights W^PP_{k,k-1}, Eq. 7: one rate per layer "
                               "k = 1..N, or one rate for all.")
    eta_PP_down = PaperRates([0.0], symbol=r"\eta^{PP}_{k,k+1}", provenance="guess",
                             doc="Top-down (apical) weights W^PP_{k,k+1}, Eq. 10: one rate per "
                                 "hidden layer k = 1..N-1, or one for all. Used only when "
                                 "learn_PP_down is on. The paper keeps these weights fixed in "
                                 "Figs. 1-2 and gives no rate for its Eq. 10 variant.")
    eta_IP = PaperRates([0.0011875], symbol=r"\eta^{IP}_{k}", provenance="SM?",
                        doc="Pyramidal-to-interneuron weights W^IP_{k,k}, Eq. 8: per hidden layer.")
    eta_PI = PaperRates([0.0059375], symbol=r"\eta^{PI}_{k}", provenance="SM?",
                        doc="Interneuron-to-pyramidal weights W^PI_{k,k}, Eq. 9: per hidden layer.")

    # --- plasticity switches --------------------------------------------------------------------
    learn_PP_up = PaperBoolean(True, symbol=r"W^{PP}_{k,k-1}", provenance="paper",
                               doc="Bottom-up weights are plastic (Eq. 7).")
    learn_PP_down = PaperBoolean(False, symbol=r"W^{PP}_{k,k+1}", provenance="paper",
                                 doc="Top-down weights are plastic (Eq. 10); fixed in Fig. 2 and 3.")
    learn_IP = PaperBoolean(True, symbol=r"W^{IP}_{k,k}", provenance="paper",
                            doc="Pyramidal-to-interneuron weights are plastic (Eq. 8).")
    learn_PI = PaperBoolean(True, symbol=r"W^{PI}_{k,k}", provenance="paper",
                            doc="Interneuron-to-pyramidal weights are plastic (Eq. 9).")

    # --- initialisation: U(-s, s) per matrix ----------------------------------------------------
    init_scale_PP_up = PaperNumber(1.0, bounds=(0, None), softbounds=(0, 2), symbol=r"s^{PP}_{\uparrow}",
                                   provenance="SM?", doc="Bottom-up weights start U(-s, s).")
    init_scale_PP_down = PaperNumber(1.0, bounds=(0, None), softbounds=(0, 2),
                                     symbol=r"s^{PP}_{\downarrow}", provenance="SM?",
                                     doc="Top-down weights start U(-s, s).")
    init_scale_IP = PaperNumber(1.0, bounds=(0, None), softbounds=(0, 2), symbol=r"s^{IP}",
                                provenance="SM?",
                                doc="Pyramidal-to-interneuron weights start U(-s, s) (unless "
                                    "the network starts self-predicting).")
    init_scale_PI = PaperNumber(1.0, bounds=(0, None), softbounds=(0, 2), symbol=r"s^{PI}",
                                provenance="SM?",
                                doc="Interneuron-to-pyramidal weights start U(-s, s) (unless "
                                    "the network starts self-predicting).")

    def __init__(self, **params):
        super().__init__(**params)
        for constraint in CONSTRAINTS:
            if not constraint.holds(self):
                raise ValueError(constraint.violation(self))
        # every parameter, so that a refused ``param.update`` is undone whole
        self.param.watch(self._refuse_broken_constraints, list(_NAMES))
        self.revision = 0
        self.param.watch(self._count_revision, list(_NAMES))

    def _count_revision(self, *events):
        # lets the simulator reuse its validated view of the values until one of them is set
        # (lists must be replaced, not changed in place, for a change to count -- as for param)
        self.revision += 1

    def _refuse_broken_constraints(self, *events):
        # Registered before every other watcher, so a refused value reaches no one else (not even
        # the revision count): it is put back unseen and the assignment raises. Several events
        # arrive together from ``param.update``; all of them are put back.
        changed = {event.name for event in events}
        for constraint in CONSTRAINTS:
            if changed.isdisjoint(constraint.names) or constraint.holds(self):
                continue
            message = constraint.refusal(self, [e for e in events if e.name in constraint.names])
            with param.parameterized.discard_events(self):
                for event in events:
                    setattr(self, event.name, event.old)
            raise ValueError(message)

    def values(self):
        """The parameter values as a plain ``dict`` (JSON-serialisable)."""
        # plain attribute reads: param's own values() is ~10x slower, and the simulator asks
        # for the values at every call of core.simulate.dynamics.run
        values = {name: getattr(self, name) for name in _NAMES}
        return {name: (list(value) if isinstance(value, list) else value)
                for name, value in values.items()}


def parameter_names():
    """Names of every model parameter, in declaration order."""
    return list(_NAMES)


_NAMES = tuple(name for name in ModelParameters.param if name != "name")


@dataclass(frozen=True)
class Constraint:
    r"""A rule relating several parameters that their bounds alone cannot state.

    Each value may lie inside its own bounds while the combination means nothing (a 0/0 in the
    model); :class:`ModelParameters` refuses such a combination when it is built and, when one
    parameter is set, puts the previous value back and raises.

    Attributes
    ----------
    names : tuple of str
        The parameters it relates.
    rule : str
        The rule as written in messages, e.g. ``"g_lk + g_B > 0"``.
    holds : callable
        ``holds(params)`` is true when the rule is satisfied.
    reason : str
        What would be undefined without it.
    """

    names: tuple
    rule: str
    holds: Callable
    reason: str

    def _now(self, params):
        return ", ".join(f"{name} = {getattr(params, name)!r}" for name in self.names)

    def violation(self, params):
        """The message for a combination that breaks the rule (e.g. when it is built)."""
        return f"{self.rule} is required, got {self._now(params)}: {self.reason}"

    def refusal(self, params, events):
        """The message for an assignment (``events``, not yet undone) that broke the rule."""
        events = sorted(events, key=lambda event: self.names.index(event.name))
        refused = ", ".join(f"{e.name} = {e.new!r}" for e in events)
        kept = ", ".join(f"{e.name} stays {e.old!r}" for e in events)
        others = [name for name in self.names if name not in {e.name for e in events}]
        hint = f"; change {' or '.join(others)} first" if others else ""
        return (f"{refused} rejected ({kept}): {self.rule} is required, and that would make "
                f"{self._now(params)}: {self.reason}{hint}")


CONSTRAINTS = (
    Constraint(("E_exc", "E_inh"), "E_exc > E_inh", lambda p: p.E_exc > p.E_inh,
               "the teaching conductances g_exc and g_inh divide by E_exc - E_inh"),
    Constraint(("g_lk", "g_B"), "g_lk + g_B > 0", lambda p: p.g_lk + p.g_B > 0,
               "an output soma without a target would have no conductance at all, and its "
               "dendritic attenuation g_B / (g_lk + g_B) would be 0/0"),
    Constraint(("g_lk", "g_D"), "g_lk + g_D > 0", lambda p: p.g_lk + p.g_D > 0,
               "an interneuron soma would have no conductance but its teaching input, and its "
               "dendritic attenuation g_D / (g_lk + g_D) (Eq. 8) would be 0/0"),
)
"""Every rule relating several parameters; see :class:`Constraint`."""


def parameter_table():
    """One row per parameter: name, symbol, default, bounds, provenance and doc.

    What a documentation table shows of every parameter (notebook 02 prints it).
    """
    rows = []
    for name in parameter_names():
        p = ModelParameters.param[name]
        rows.append({
            "name": name,
            "symbol": p.symbol,
            "default": list(p.default) if isinstance(p.default, list) else p.default,
            "bounds": getattr(p, "bounds", None),
            "provenance": p.provenance,
            "doc": p.doc,
        })
    return rows
