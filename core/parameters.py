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


def _conductance(default, symbol, doc, provenance="SM?"):
    return PaperNumber(default, bounds=(0, None), softbounds=(0, 2), step=0.01,
                       symbol=symbol, provenance=provenance, doc=doc)


class ModelParameters(param.Parameterized):
    r"""All parameters of the dendritic cortical microcircuit (Sacramento et al., 2018).

    Units: time in ms, conductances in 1/ms (membrane capacitance 1), potentials and rates
    unitless, resting potential 0. Learning rates are in 1/ms: a weight changes by
    :math:`\eta \, \Delta t \, \Delta` per Euler step.
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
    dt = PaperNumber(0.1, bounds=(0, None), inclusive_bounds=(False, True), softbounds=(0.01, 1.0),
                     step=0.01, symbol=r"\Delta t", provenance="SM?",
                     doc="Euler-Maruyama time step (ms). Must stay below the stability bound "
                         "2 / (largest total somatic conductance).")
    sigma = PaperNumber(0.1, bounds=(0, None), softbounds=(0, 1), step=0.01, symbol=r"\sigma",
                        provenance="SM?",
                        doc="Amplitude of the somatic background noise. Euler-Maruyama adds "
                            r"sigma * sqrt(dt) * N(0, 1) per step (reimplementations that add "
                            "sigma * dt * N(0, 1) use a different sigma).")
    presentation_time = PaperNumber(100.0, bounds=(0, None), inclusive_bounds=(False, True),
                                    softbounds=(1, 500), step=1.0, symbol=r"T",
                                    provenance="SM?", doc="How long each pattern is shown (ms).")
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
    theta = PaperNumber(3.0, softbounds=(-5, 5), symbol=r"\theta", provenance="paper",
                        doc="Soft rectifier: threshold.")
    use_bias = PaperBoolean(False, symbol=r"b", provenance="paper",
                            doc="Learnable threshold per neuron: an extra input fixed at 1 with a "
                                "plastic weight (used with the logistic rate function).")

    # --- learning rates (Eqs. 7-10), one per layer or one for all --------------------------------
    eta_PP_up = PaperRates([0.0011875, 0.0005], symbol=r"\eta^{PP}_{k,k-1}", provenance="SM?",
                           doc="Bottom-up (basal) weights W^PP_{k,k-1}, Eq. 7: one rate per layer "
                               "k = 1..N, or one rate for all.")
    eta_PP_down = PaperRates([0.0], symbol=r"\eta^{PP}_{k,k+1}", provenance="paper",
                             doc="Top-down (apical) weights W^PP_{k,k+1}, Eq. 10: one rate per "
                                 "hidden layer k = 1..N-1, or one for all. Used only when "
                                 "learn_PP_down is on.")
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
        self._check_reversal_potentials()
        self.param.watch(self._revert_bad_reversal_potentials, ["E_exc", "E_inh"])
        self.revision = 0
        self.param.watch(self._count_revision, [n for n in self.param if n != "name"])

    def _count_revision(self, *events):
        # lets the simulator reuse its validated view of the values until one of them is set
        # (lists must be replaced, not changed in place, for a change to count -- as for param)
        self.revision += 1

    def _check_reversal_potentials(self):
        if not self.E_exc > self.E_inh:
            raise ValueError(f"E_exc ({self.E_exc}) must be greater than E_inh ({self.E_inh})")

    def _revert_bad_reversal_potentials(self, event):
        if not self.E_exc > self.E_inh:
            with param.parameterized.discard_events(self):
                setattr(self, event.name, event.old)
            raise ValueError(f"{event.name} = {event.new} rejected: E_exc must be greater than E_inh "
                         f"(now E_exc = {self.E_exc}, E_inh = {self.E_inh})")

    def values(self):
        """The parameter values as a plain ``dict`` (JSON-serialisable)."""
        # plain attribute reads: param's own values() is ~10x slower, and the simulator asks
        # for the values at every call of core.dynamics.run
        values = {name: getattr(self, name) for name in _NAMES}
        return {name: (list(value) if isinstance(value, list) else value)
                for name, value in values.items()}


def parameter_names():
    """Names of every model parameter, in declaration order."""
    return list(_NAMES)


_NAMES = tuple(name for name in ModelParameters.param if name != "name")


def parameter_table():
    """One row per parameter: name, symbol, default, bounds, provenance and doc.

    The single place where documentation tables (README, notebooks, the app) get their rows.
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
