r"""The equations being simulated, with the current parameter values filled in.

Each equation is written once, on the function of :mod:`core.model.equations` that implements it
(its ``latex``), as a template in which ``«name»`` stands for a model parameter; it is rendered
twice, with the parameter's paper symbol (from :class:`core.model.parameters.ModelParameters`,
the single source of symbols) and with its current value in colour, so a student sees which slider
is which symbol. Numbering follows the paper (Sacramento et al. 2018, Eqs. 1-10).
"""

from __future__ import annotations

import math

from core.model import equations as eq
from core.model.equations import (ACCURATE_STEP, euler_stability_bound, integration_accuracy,
                                  interneuron_attenuation)
from core.model.layers import layer_attenuation

VALUE_COLOR = "#1565c0"

EQUATIONS = [
    ("Eq. 1: hidden pyramidal soma", (eq.pyramidal_soma_derivative,)),
    ("Output soma with its teaching current", (eq.output_soma_derivative,)),
    ("Eq. 2: interneuron soma, nudged by the next layer", (eq.interneuron_soma_derivative,)),
    ("Eqs. 3-5: dendrites",
     (eq.basal_potential, eq.apical_potential, eq.interneuron_dendritic_potential)),
    ("Eq. 7: bottom-up plasticity «learn_PP_up»", (eq.bottom_up_induction,)),
    ("Eq. 8: pyramid-to-interneuron plasticity «learn_IP»", (eq.pyramid_to_interneuron_induction,)),
    ("Eq. 9: interneuron-to-pyramid plasticity «learn_PI»", (eq.interneuron_to_pyramid_induction,)),
    ("Eq. 10: top-down plasticity «learn_PP_down»", (eq.top_down_induction,)),
    ("Low-pass filters of plasticity and of pattern switches", (eq.low_pass_change,)),
]
"""Each row's title (``«learn_...»`` becomes "(on)" or "(frozen)") and the functions of
:mod:`core.model.equations` whose ``latex`` it shows, side by side."""


def template(functions):
    """The row's KaTeX template: the forms stored on ``functions``, side by side."""
    return r",\quad ".join(function.latex for function in functions)


def _coloured(text):
    return rf"\color{{{VALUE_COLOR}}}{{{text}}}"


def render(template, params=None):
    """``template`` with each ``«name»`` replaced by its symbol, or by the value in ``params``
    in colour (:func:`core.model.equations.fill`)."""
    return eq.fill(template, params, _coloured)


def _title(template, params):
    return eq.PLACEHOLDER.sub(lambda m: "(on)" if getattr(params, m.group(1)) else "(frozen)",
                              template)


def _number(x):
    r"""``x`` in colour for KaTeX: 3 significant digits, :math:`\infty`, or a dash where the
    quantity is undefined (NaN)."""
    if math.isnan(x):
        text = r"\text{—}"
    elif math.isinf(x):
        text = r"\infty" if x > 0 else r"-\infty"
    else:
        text = f"{x:.3g}"
    return _coloured(text)


def _defined(ratio, *arguments):
    """``ratio(*arguments)``, or NaN where it is 0/0 (the equations raise ``ValueError``)."""
    try:
        return ratio(*arguments)
    except ValueError:
        return math.nan


def derived_quantities(params):
    """The LaTeX of the attenuation factors, the rate function and the stability bound.

    Renders for every parameter set (a :class:`~core.model.parameters.ModelParameters` refuses the
    0/0 combinations, but a ratio that is undefined shows as a dash rather than raising).
    """
    p = params
    # layers 1 and 2 of two: a hidden layer and the output layer, alike in every depth
    c_hidden = _defined(layer_attenuation, p, 1, 2)
    c_output = _defined(layer_attenuation, p, 2, 2)
    c_inter = _defined(interneuron_attenuation, p.g_lk, p.g_D)
    bound = euler_stability_bound(p.g_lk, p.g_B, p.g_A, p.g_D, p.g_som)
    accuracy = integration_accuracy(p.dt, p.g_lk, p.g_B, p.g_A, p.g_D, p.g_som)
    if p.transfer == "logistic":
        phi = r"\varphi(u) = \frac{1}{1 + e^{-u}}"
    else:
        phi = (rf"\varphi(u) = {_number(p.gamma)}\,\log\big(1 + e^{{{_number(p.beta)}\,"
               rf"(u - {_number(p.theta)})}}\big)")
    return [
        ("Dendritic attenuation",
         rf"\hat v^P_{{B,k}} = \frac{{g_B}}{{g_\mathrm{{lk}} + g_B + g_A}}\,v^P_{{B,k}} = "
         rf"{_number(c_hidden)}\,v^P_{{B,k}}\ \ (\text{{output: }}{_number(c_output)}),\quad "
         rf"\hat v^I_k = {_number(c_inter)}\,v^I_k"),
        ("Rate function", phi),
        ("Euler-Maruyama step",
         rf"u \leftarrow u + {_number(p.dt)}\,\frac{{du}}{{dt}} + \sigma\sqrt{{{_number(p.dt)}}}\,"
         rf"\mathcal{{N}}(0,1),\qquad \Delta t < \frac{{2}}{{g_{{\max}}}} = {_number(bound)}"
         rf"\ \text{{ms}},\quad \Delta t\,g_{{\max}} = {_number(accuracy)}"
         rf"\ \ (\text{{accurate}} \le {ACCURATE_STEP:g})"),
    ]


def equations(params):
    """``(title, symbolic LaTeX, LaTeX with values)`` for every equation, for these parameters;
    the symbolic form is ``None`` where no parameter is filled in (it would print twice)."""
    rows = []
    for title, functions in EQUATIONS:
        form = template(functions)
        rows.append((_title(title, params),
                     render(form) if eq.PLACEHOLDER.search(form) else None, render(form, params)))
    return rows + [(title, None, latex) for title, latex in derived_quantities(params)]
