r"""Steady states without time stepping (:math:`\sigma = 0`).

* :func:`two_pass` -- a two-pass approximation after the paper's simplified dynamics (Sec. 3.4):
  a bottom-up pass, then the output is nudged and the top-down pass goes from layer :math:`N-1`
  down to 1. It differs from the paper's text in two places: every compartment takes its exact
  single-compartment fixed point given the others, so the bottom-up pass sets
  :math:`u^P_k = \hat v^P_{B,k} = \frac{g_B}{g_\mathrm{lk}+g_B+g_A} v^P_{B,k}` (the paper:
  :math:`u_k = v_{B,k}`) and the top-down step
  :math:`u^P_k = (g_B v^P_{B,k} + g_A v^P_{A,k})/(g_\mathrm{lk}+g_B+g_A)` (the paper:
  :math:`(1-\lambda_k) v_{B,k} + \lambda_k v_{A,k}`); both agree with the paper's as
  :math:`g_\mathrm{lk} \to 0`. It ignores how the top-down pass changes the bottom-up input of
  the layers above, an error that vanishes as :math:`g_A \to 0`.
* :func:`literal_two_pass` -- the same two passes as the paper's Sec. 3.4 writes them
  (:func:`~core.model.equations.mixed_potential`): the bottom-up pass sets :math:`u_k = v_{B,k}`
  and each soma of the top-down pass is :math:`(1-\lambda) v + \lambda x`. It leaves the leak
  out of every soma: with :math:`g_\mathrm{lk} > 0` its potentials stay off the fixed point by the
  leak's share however weak the feedback, and its Eq. 7 updates with them; with
  :math:`g_\mathrm{lk} = 0` it approaches the fixed point as :math:`\lambda` shrinks, more slowly
  than :func:`two_pass` (``tests/test_steady_state.py`` measures both).
* :func:`fixed_point` -- the exact fixed point of the full dynamics (Eqs. 1-5), by fixed-point
  iteration to a tolerance; raises :class:`~core.errors.ConvergenceError` when it does not
  converge.
* :func:`train_batch` -- one mini-batch of learning with either solver.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..model import validation
from .compartments import Compartments, compartments
from ..model import equations as eq
from .context import model_context
from .divergence import RUNAWAY, runaway_potential
from ..errors import ConvergenceError, DivergenceError
from ..model.layers import apical_conductance
from .plasticity import apply_changes, induction_terms, steady_state_scale

METHODS = ("two_pass", "literal_two_pass", "fixed_point")


def _inputs(net, input_rates, target_potential):
    return validation.pattern(net.sizes, input_rates, target_potential)


def bottom_up_pass(net, input_rates):
    r"""Potentials of the un-nudged, self-predicting network: :math:`u^P_k = \hat v^P_{B,k}`.

    This is the prediction of the network (the forward pass of the equivalent feed-forward net).

    Returns
    -------
    u_P : dict[int, ndarray]
        :math:`u^P_k = \frac{g_B}{g_\mathrm{lk}+g_B+g_A} W^{PP}_{k,k-1} r_{k-1}` (:math:`g_A = 0`
        at the output).
    """
    inputs, _ = _inputs(net, input_rates, None)
    ctx = model_context(net)
    return _bottom_up(net, inputs, ctx, ctx.phi.phi)[0]


def _bottom_up(net, inputs, ctx, phi):
    """Bottom-up potentials, basal potentials and rates (``r[0]`` is the input)."""
    p, w = ctx.p, net.weights
    u_P, v_B, r = {}, {}, {0: inputs}
    for k in range(1, net.n_layers + 1):
        v_B[k] = eq.basal_potential(w.W_up[k], r[k - 1], w.b_up.get(k))
        g_A = apical_conductance(p.g_A, k, net.n_layers)
        u_P[k] = eq.pyramidal_soma_steady_state(v_B[k], 0.0, p.g_lk, p.g_B, g_A)
        r[k] = phi(u_P[k])
    return u_P, v_B, r


def predict(net, input_rates):
    """Output rates :math:`\\varphi(u^P_N)` of the bottom-up pass (the network's answer)."""
    return model_context(net).phi.phi(bottom_up_pass(net, input_rates)[net.n_layers])


def two_pass(net, input_rates, target_potential=None):
    r"""The two-pass steady-state approximation after the paper's Sec. 3.4 (see the module
    docstring for how it differs) for a batch of patterns.

    Parameters
    ----------
    net : Network
    input_rates : array_like, shape (n_0,) or (B, n_0)
    target_potential : array_like, shape (n_N,) or (B, n_N), optional
        Output targets; ``None`` means no nudging.

    Returns
    -------
    Compartments
        Final potentials. As the approximation assumes, ``r_P``, ``v_B`` and ``v_I`` are those of
        the bottom-up pass (they are the presynaptic rates and dendritic predictions that the
        plasticity rules compare against), ``v_A`` is the apical potential of the top-down pass and
        ``v_TD`` the top-down prediction from the bottom-up rates (computed only while the top-down
        weights learn, ``learn_PP_down``; empty otherwise).
    """
    inputs, target = _inputs(net, input_rates, target_potential)
    ctx = model_context(net)
    return _two_pass(net, inputs, target, ctx, ctx.phi.phi)


def _two_pass(net, inputs, target, ctx, phi):
    """:func:`two_pass` on validated patterns, with the rate function ``phi``."""
    p, w, N = ctx.p, net.weights, net.n_layers
    u_up, v_B, r_up = _bottom_up(net, inputs, ctx, phi)
    v_I = {k: eq.interneuron_dendritic_potential(w.W_IP[k], r_up[k], w.b_IP.get(k))
           for k in net.hidden_layers}
    u_P = dict(u_up)
    u_P[N] = eq.output_soma_steady_state(v_B[N], target, p.g_lk, p.g_B, p.g_som)
    u_I, r_I, v_A = {}, {}, {}
    for k in reversed(net.hidden_layers):
        u_I[k] = eq.interneuron_soma_steady_state(v_I[k], u_P[k + 1], p.g_lk, p.g_D, p.g_som)
        r_I[k] = phi(u_I[k])
        v_A[k] = eq.apical_potential(w.W_down[k], phi(u_P[k + 1]), w.W_PI[k], r_I[k])
        u_P[k] = eq.pyramidal_soma_steady_state(v_B[k], v_A[k], p.g_lk, p.g_B, p.g_A)
    v_TD = {k: eq.top_down_potential(w.W_down[k], r_up[k + 1]) for k in net.hidden_layers
            if p.learn_PP_down}
    return Compartments(u_P=u_P, u_I=u_I, r_P=r_up, r_I=r_I, v_B=v_B, v_TD=v_TD, v_A=v_A, v_I=v_I)


def literal_two_pass(net, input_rates, target_potential=None):
    r"""The two passes of the paper's Sec. 3.4 as its text writes them (see the module docstring
    for how they differ from :func:`two_pass`), for a batch of patterns.

    1. bottom-up: :math:`u^P_k = v^P_{B,k}` for :math:`k = 1..N`, rates :math:`\varphi(u^P_k)`;
    2. the output, when nudged: :math:`u^P_N = (1 - \lambda_N) v^P_{B,N} + \lambda_N u^\mathrm{trgt}`;
    3. for :math:`k = N-1` down to 1: :math:`u^I_k = (1 - \lambda_I) v^I_k + \lambda_I u^P_{k+1}`,
       :math:`v^P_{A,k}` by Eq. 4, :math:`u^P_k = (1 - \lambda_k) v^P_{B,k} + \lambda_k v^P_{A,k}`.

    Parameters and returns as :func:`two_pass` (``r_P``, ``v_B``, ``v_I``: the bottom-up pass's).
    """
    inputs, target = _inputs(net, input_rates, target_potential)
    ctx = model_context(net)
    return _literal_two_pass(net, inputs, target, ctx, ctx.phi.phi)


def _literal_two_pass(net, inputs, target, ctx, phi):
    """:func:`literal_two_pass` on validated patterns, with the rate function ``phi``."""
    p, w, N = ctx.p, net.weights, net.n_layers
    v_B, r_up = {}, {0: inputs}
    for k in range(1, N + 1):
        v_B[k] = eq.basal_potential(w.W_up[k], r_up[k - 1], w.b_up.get(k))
        r_up[k] = phi(v_B[k])
    v_I = {k: eq.interneuron_dendritic_potential(w.W_IP[k], r_up[k], w.b_IP.get(k))
           for k in net.hidden_layers}
    u_P = dict(v_B)
    if target is not None:
        u_P[N] = eq.mixed_potential(v_B[N], target, eq.mixing_factor(p.g_lk, p.g_B, p.g_som))
    lambda_I = eq.mixing_factor(p.g_lk, p.g_D, p.g_som)
    lambda_k = eq.mixing_factor(p.g_lk, p.g_B, p.g_A)
    u_I, r_I, v_A = {}, {}, {}
    for k in reversed(net.hidden_layers):
        u_I[k] = eq.mixed_potential(v_I[k], u_P[k + 1], lambda_I)
        r_I[k] = phi(u_I[k])
        v_A[k] = eq.apical_potential(w.W_down[k], phi(u_P[k + 1]), w.W_PI[k], r_I[k])
        u_P[k] = eq.mixed_potential(v_B[k], v_A[k], lambda_k)
    v_TD = {k: eq.top_down_potential(w.W_down[k], r_up[k + 1]) for k in net.hidden_layers
            if p.learn_PP_down}
    return Compartments(u_P=u_P, u_I=u_I, r_P=r_up, r_I=r_I, v_B=v_B, v_TD=v_TD, v_A=v_A, v_I=v_I)


def fixed_point(net, input_rates, target_potential=None, *, tol=1e-12, max_iter=10_000,
                damping=0.0):
    r"""The exact fixed point of the full dynamics at :math:`\sigma = 0`.

    Iterates :math:`u \leftarrow (1-\alpha)\,F(u) + \alpha\,u`, where :math:`F` puts every soma at
    the fixed point of Eq. 1, Eq. 2 or the output equation given the current rates, starting from
    :func:`two_pass`, until the largest change is below ``tol``.

    Parameters
    ----------
    tol : float
        Convergence threshold on the largest potential change per iteration.
    max_iter : int
    damping : float in [0, 1)
        :math:`\alpha`; raise it when strong feedback makes plain iteration oscillate.

    Returns
    -------
    Compartments
        Self-consistent compartments at the fixed point.

    Raises
    ------
    ValueError
        Bad input patterns, or ``tol``, ``max_iter`` or ``damping`` outside what is allowed.
    ConvergenceError
        When ``max_iter`` iterations do not reach ``tol`` (the message gives the last change).
    """
    options = _fixed_point_options(tol, max_iter, damping)
    inputs, target = _inputs(net, input_rates, target_potential)
    ctx = model_context(net)
    return _fixed_point(net, inputs, target, ctx, ctx.phi.phi, *options)


def _fixed_point_options(tol=1e-12, max_iter=10_000, damping=0.0):
    """:func:`fixed_point`'s options, checked, in the order :func:`_fixed_point` takes them."""
    if not _is_real(damping) or not 0 <= damping < 1:
        raise ValueError(f"damping must be a number in [0, 1), got {damping!r}")
    if not _is_real(tol) or not tol > 0:
        raise ValueError(f"tol must be a number > 0, got {tol!r}")
    validation.count("max_iter", max_iter, minimum=1)
    return tol, max_iter, damping


def _fixed_point(net, inputs, target, ctx, phi, tol, max_iter, damping):
    """:func:`fixed_point` on validated patterns and options, with the rate function ``phi``."""
    p, N = ctx.p, net.n_layers
    start = _two_pass(net, inputs, target, ctx, phi)
    u_P, u_I = start.u_P, start.u_I
    change = np.inf
    for iteration in range(1, max_iter + 1):
        comp = compartments(net.weights, u_P, u_I, inputs, phi)
        new_P = {k: eq.pyramidal_soma_steady_state(comp.v_B[k], comp.v_A[k], p.g_lk, p.g_B, p.g_A)
                 for k in net.hidden_layers}
        new_P[N] = eq.output_soma_steady_state(comp.v_B[N], target, p.g_lk, p.g_B, p.g_som)
        new_I = {k: eq.interneuron_soma_steady_state(comp.v_I[k], u_P[k + 1], p.g_lk, p.g_D, p.g_som)
                 for k in net.hidden_layers}
        change = max(float(np.max(np.abs(new_P[k] - u_P[k]))) for k in u_P)
        if u_I:
            change = max(change, max(float(np.max(np.abs(new_I[k] - u_I[k]))) for k in u_I))
        if not np.isfinite(change):
            break
        u_P = {k: (1 - damping) * new_P[k] + damping * u_P[k] for k in u_P}
        u_I = {k: (1 - damping) * new_I[k] + damping * u_I[k] for k in u_I}
        if change < tol:
            return compartments(net.weights, u_P, u_I, inputs, phi)
    raise ConvergenceError(
        f"fixed_point did not converge: largest potential change {change:.3g} after {iteration} "
        f"iterations (tol={tol:g}). Feedback may be too strong (g_A={p.g_A}, g_som={p.g_som}) or "
        "weights too large for a unique fixed point; try damping=0.5, a larger max_iter, or the "
        "full dynamics (core.simulate.dynamics.run).")


_change_buffers = weakref.WeakKeyDictionary()
"""The last weight changes of each network, whose arrays the next mini-batch writes into."""


class _RecentRates:
    r"""The rate function ``phi``, remembering its results for the last ``size`` arrays.

    Within one mini-batch the solver and the plasticity rules both need the rates of the settled
    somatic potentials, :math:`\varphi(u^P_k)` and :math:`\varphi(u^I_k)` (the top-down pass or
    :func:`~core.simulate.compartments.compartments`, then Eqs. 7 and 8), and nothing modifies
    those arrays in between; the second call returns the first's result, the same numbers. Arrays
    are recognised by identity and kept alive while remembered, so a new array cannot take the id
    of a remembered one.
    """

    def __init__(self, phi, size):
        self.phi, self.size, self.recent = phi, size, []

    def __getattr__(self, name):  # kind, gamma, ...: the equations evaluate it as the Phi it wraps
        return getattr(self.phi, name)

    def __call__(self, u):
        for array, rate in self.recent:
            if array is u:
                return rate
        rate = self.phi(u)
        self.recent.append((u, rate))
        if len(self.recent) > self.size:
            del self.recent[0]
        return rate


def _is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def _check_settled(net, comp):
    runaway = runaway_potential(comp.u_P, comp.u_I)
    if runaway is not None:
        label, k = runaway
        raise DivergenceError(
            f"steady state ran away: {label} of layer {k} is non-finite or exceeds "
            f"{RUNAWAY:g}, so no weight was changed. The weights have grown too large "
            f"(largest |W| = {net.weights.largest_magnitude():.3g}); reduce the learning rates "
            f"(eta_PP_up={net.params.eta_PP_up}, eta_IP={net.params.eta_IP}, "
            f"eta_PI={net.params.eta_PI}) or the initial weight scales.")


_RATE_NAMES = {"W_up": "eta_PP_up", "b_up": "eta_PP_up", "W_down": "eta_PP_down",
               "W_IP": "eta_IP", "b_IP": "eta_IP", "W_PI": "eta_PI"}


LARGE_CHANGE_FACTOR = 1e100
r"""Above this :math:`\eta\,(T - t_\mathrm{lag})` the weight changes of :func:`train_batch` are
checked for overflow. Below it they cannot overflow: the settled potentials are below
:data:`~core.simulate.divergence.RUNAWAY` (else the batch stops earlier), so rates and induction
terms stay many orders of magnitude below the float range. The check is not free
(benchmarks/README.md,
"Design figures"), hence the threshold."""


def _check_changes(changes, p, rates, duration):
    # eta (T - t_lag) has no upper bound: a large enough product overflows the weight change
    # (one reduction per matrix; an overflowing sum is divergence as well)
    for name, k, change in changes.items():
        if rates[name][k] * duration > LARGE_CHANGE_FACTOR and not np.isfinite(change.sum()):
            rate = _RATE_NAMES[name]
            raise DivergenceError(
                f"steady state: the change of {name} in layer {k} is not finite, so no weight "
                f"was changed. The learning rate times the presentation time, eta (T - t_lag) = "
                f"{rates[name][k]:g} x {duration:g} ms, is too large ({rate}="
                f"{getattr(p, rate)}, presentation_time={p.presentation_time}, "
                f"learning_lag={p.learning_lag}); reduce them.")


def train_batch(net, input_rates, target_potential=None, *, method="two_pass", **solver_options):
    r"""Settle a mini-batch and apply the plasticity rules (Eqs. 7-10) once.

    Every plastic weight changes by :math:`\eta\,(T - t_\mathrm{lag})\,\bar I`, the batch-averaged
    induction term held for one presentation (see
    :func:`core.simulate.plasticity.steady_state_scale`), so learning rates mean the same as in the
    full dynamics.

    Parameters
    ----------
    method : {"two_pass", "literal_two_pass", "fixed_point"}
    **solver_options
        Passed to :func:`fixed_point`.

    Returns
    -------
    Compartments
        The settled state the update was computed from.

    Raises
    ------
    DivergenceError
        When the settled potentials are non-finite or run away, or a weight change overflows;
        the weights are left unchanged.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    options = _fixed_point_options(**solver_options) if method == "fixed_point" else ()
    inputs, target = _inputs(net, input_rates, target_potential)
    ctx = model_context(net)
    phi = _RecentRates(ctx.phi.phi, 8 * net.n_layers)
    if method == "fixed_point":
        comp = _fixed_point(net, inputs, target, ctx, phi, *options)
    else:
        solve = _two_pass if method == "two_pass" else _literal_two_pass
        comp = solve(net, inputs, target, ctx, phi)
    _check_settled(net, comp)
    p, rates_table = ctx.p, ctx.rates
    # the induction terms come out already multiplied by eta (T - t_lag), into the last batch's
    # arrays: fresh weight-sized arrays on every batch cost more than the products (page faults)
    duration = max(p.presentation_time - p.learning_lag, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # reported by _check_changes
        changes = induction_terms(net.weights, comp, p, phi, rates_table,
                                  scale=steady_state_scale(rates_table, duration),
                                  out=_change_buffers.get(net))
        _check_changes(changes, p, rates_table, duration)
    apply_changes(net.weights, changes)
    _change_buffers[net] = changes
    return comp
