r"""Running the full time-continuous dynamics: blocks of Euler-Maruyama steps on the chosen back
end, with recordings (:mod:`.recording`) and divergence checks (:mod:`.divergence`).

The step itself is :func:`core.simulate.euler.advance` (written once; :mod:`core.simulate.twins`
compiles the same source). :func:`run` cuts a run into blocks (at most :data:`MAX_BLOCK` steps, and
at every sample to record), hands each block to the chosen back end, and after each block checks
that nothing diverged. How a run is cut does not change its trajectory.
"""

from __future__ import annotations

import numpy as np

from . import euler, twins
from ..model import validation
from .context import model_context
from .compartments import compartments
from ..model.equations import basal_attenuation, interneuron_attenuation
from .divergence import check_dendrites, check_finite
from ..model.layers import MATRICES, apical_conductance
from .recording import Recording, check_recordable, sample

BACKENDS = ("auto", "numpy", "numba")
MAX_BLOCK = 10_000
"""Most steps advanced between two divergence checks (1 s of simulated time at dt = 0.1 ms):
long enough that a block's fixed cost (the checks and, with numba, handing the network to the
compiled step) is a small part of it (benchmarks/README.md, "Design figures")."""
LONGEST_PRESENTATION = 2.0 ** 62
"""Most Euler steps one pattern is shown for (:func:`presentation_steps`), far beyond any run."""

def context(net):
    """:func:`model_context`, with ``dt`` checked against the Euler stability bound (what the
    time-stepping back ends need)."""
    ctx = model_context(net)
    validation.time_step(ctx.p)
    return ctx


_EMPTY_MATRIX = np.zeros((0, 0))
_EMPTY_VECTOR = np.zeros(0)


def _by_layer(arrays, count, empty):
    """``arrays`` (a dict keyed by layer) as the tuple :func:`core.simulate.euler.advance` takes:
    ``count`` entries indexed by layer, ``empty`` where a layer has none."""
    return tuple(arrays.get(k, empty) for k in range(count))


def _plastic(weights, N):
    """:class:`~core.model.layers.Weights` (or traces) as a :class:`core.simulate.euler.Plastic` of tuples."""
    return euler.Plastic(
        W_up=_by_layer(weights.W_up, N + 1, _EMPTY_MATRIX),
        W_down=_by_layer(weights.W_down, N, _EMPTY_MATRIX),
        W_IP=_by_layer(weights.W_IP, N, _EMPTY_MATRIX),
        W_PI=_by_layer(weights.W_PI, N, _EMPTY_MATRIX),
        b_up=_by_layer(weights.b_up, N + 1, _EMPTY_VECTOR),
        b_IP=_by_layer(weights.b_IP, N, _EMPTY_VECTOR))


def _rate_table(ctx, N, learns):
    """Learning rates as a :class:`core.simulate.euler.Plastic` of arrays indexed by layer (all 0 in a
    block without plasticity, which needs no rate list that fits the depth); a threshold has
    its matrix's rate, as in :func:`core.simulate.plasticity.learning_rates`."""
    def table(name):
        values = np.zeros(N + 1 if name in ("W_up", "b_up") else N)
        if learns:
            for k, eta in ctx.rates[name].items():
                values[k] = eta
        return values
    return euler.Plastic(**{name: table(name) for name in MATRICES})


def _constants(ctx, N, nudging, thresholds):
    p = ctx.p
    return euler.Constants(
        dt=float(p.dt), g_lk=float(p.g_lk), g_B=float(p.g_B), g_A=float(p.g_A),
        g_D=float(p.g_D), g_som=float(p.g_som),
        g_som_output=float(p.g_som) if nudging else 0.0,
        noise_scale=float(p.sigma * np.sqrt(p.dt)), tau_w=float(p.tau_w), tau_0=float(p.tau_0),
        basal_attenuation=np.array([0.0] + [
            basal_attenuation(p.g_lk, p.g_B, apical_conductance(p.g_A, k, N))
            for k in range(1, N + 1)]),
        interneuron_attenuation=float(interneuron_attenuation(p.g_lk, p.g_D)),
        thresholds=thresholds)


def _advance(net, ctx, n_steps, learn_from, step):
    """Hand ``n_steps`` steps of ``net`` to ``step`` (:func:`core.simulate.euler.advance` or its
    compiled twin), which updates the network's own arrays in place."""
    N, s = net.n_layers, net.state
    constants = ctx.for_step(_constants, N, bool(net.nudging), bool(net.weights.b_up))
    time, pattern_time = step(
        n_steps, learn_from, constants, ctx.phi.phi,
        (_EMPTY_MATRIX,) + tuple(s.u_P[k] for k in range(1, N + 1)),
        _by_layer(s.u_I, N, _EMPTY_MATRIX),
        euler.Inputs(s.r_input, s.u_target, s.input_pattern, s.target_pattern),
        _plastic(net.weights, N), _plastic(s.traces, N),
        ctx.for_step(_rate_table, N, learn_from < n_steps),
        net.rng, float(s.time), float(s.pattern_time))
    s.steps += n_steps
    s.time, s.pattern_time = time, pattern_time


def _backend(name):
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    if name == "numpy" or (name == "auto" and not twins.numba_installed()):
        return euler.advance
    if not twins.numba_installed():
        raise ValueError("backend='numba' needs numba: pip install 'dendritic-microcircuits[fast]'")
    return twins.advance


def presentation_steps(params):
    r"""Euler steps of one pattern presentation: :math:`T/\Delta t` rounded, and at least one.

    A presentation time shorter than half a step still shows the pattern for one step (rather
    than for none, which would never advance): the full dynamics cannot resolve anything shorter
    than :math:`\Delta t`. The steady-state simulator uses :math:`T` itself.
    """
    steps = params.presentation_time / params.dt
    # beyond 2^62 steps (or when T / dt overflows) a pattern outlasts any run: cut it there
    return max(1, int(round(min(steps, LONGEST_PRESENTATION))))


def _steps_until_learning(net, ctx, block):
    """Steps of a block of ``block`` steps before plasticity comes on: 0 once it is on, ``block``
    when the current pattern's learning lag outlasts the block (however long the lag: the count
    must fit the step's integers)."""
    remaining = ctx.p.learning_lag - net.state.pattern_time
    if remaining <= 1e-9 * ctx.p.dt:
        return 0
    steps = np.ceil(remaining / ctx.p.dt - 1e-9)
    return max(1, int(steps)) if steps < block else block


def run(net, n_steps, *, record=(), record_every=1, learning=True, backend="auto"):
    r"""Advance the full dynamics of ``net`` by ``n_steps`` Euler-Maruyama steps.

    Parameters
    ----------
    net : Network
    n_steps : int
        Number of steps of length ``net.params.dt``.
    record : sequence of str
        Quantities to record: ``u_P<k>``, ``v_B<k>``, ``r_P<k>`` (k = 1..N), ``u_I<k>``,
        ``v_A<k>``, ``v_I<k>``, ``v_TD<k>``, ``r_I<k>`` (hidden k), ``u_target``, ``r_input`` and
        ``apical_sq`` (mean squared apical potential).
    record_every : int
        Sample every this many steps.
    learning : bool
        Plasticity on (as configured by the ``learn_*`` switches and rates).
    backend : {"auto", "numpy", "numba"}
        ``"numpy"`` runs :func:`core.simulate.euler.advance` as written; ``"numba"`` runs the same
        source compiled (:mod:`core.simulate.twins`; the same trajectory to 1e-12); ``"auto"``
        takes numba when it is installed (compiling it first if need be). An interactive front end
        that must not wait for the compiler asks :func:`core.simulate.compiled.backend`.

    Returns
    -------
    Recording

    Raises
    ------
    ValueError
        Bad arguments, or ``dt`` at or beyond the Euler stability bound.
    DivergenceError
        Potentials or weights became non-finite or ran away; the network is left as it was
        before the failing block of steps.
    """
    validation.count("n_steps", n_steps)
    validation.count("record_every", record_every, minimum=1)
    record = check_recordable(record, net.sizes)
    advance = _backend(backend)
    ctx = context(net)
    times, samples = [], {name: [] for name in record}
    done = 0
    while done < n_steps:
        block = min(n_steps - done, MAX_BLOCK)
        if record:
            block = min(block, record_every - net.state.steps % record_every)
        # the end of a learning lag falls inside the block: no need to cut the block there
        learn_from = _steps_until_learning(net, ctx, block) if learning else block
        before = (net.weights.copy(), net.state.copy())
        first = net.state.steps
        with np.errstate(over="ignore", invalid="ignore"):  # reported by check_finite
            _advance(net, ctx, block, learn_from, advance)
            check_finite(net, before, first, block, ctx)  # (whose sums may meet inf - inf)
        done += block
        if record and net.state.steps % record_every == 0:
            with np.errstate(over="ignore", invalid="ignore"):  # reported by check_dendrites
                comp = compartments(net.weights, net.state.u_P, net.state.u_I, net.state.r_input,
                                    ctx.phi.phi)
            check_dendrites(net, before, first, block, ctx, comp)
            times.append(net.state.time)
            for name in record:
                samples[name].append(sample(net, comp, name))
    return Recording(time=np.asarray(times, dtype=float),
                     values={name: np.asarray(v) for name, v in samples.items()})


def run_patterns(net, input_rates, target_potentials=None, *, steps_per_pattern=None, **kwargs):
    r"""Present patterns one after another, each for ``steps_per_pattern`` steps.

    Parameters
    ----------
    input_rates : array_like, shape (P, n_0) or (P, B, n_0)
    target_potentials : array_like, shape (P, n_N) or (P, B, n_N), optional
        Targets (act only while ``net.nudging`` is on).
    steps_per_pattern : int, optional
        Defaults to :func:`presentation_steps`, :math:`T / \Delta t` (at least one).
    **kwargs
        Passed to :func:`run`.

    Returns
    -------
    Recording
        The recordings of all patterns, concatenated.
    """
    inputs = validation.as_finite_array("input_rates", input_rates, (net.sizes[0],),
                                        ndim_allowed=(2, 3))
    if target_potentials is not None:
        targets = validation.as_finite_array("target_potentials", target_potentials,
                                             (net.sizes[-1],), ndim_allowed=(2, 3))
        if len(targets) != len(inputs):
            raise ValueError(f"target_potentials has {len(targets)} patterns, input_rates has "
                             f"{len(inputs)}")
    if steps_per_pattern is None:
        steps_per_pattern = presentation_steps(net.params)
    recordings = []
    for i, pattern in enumerate(inputs):
        net.present(pattern, None if target_potentials is None else targets[i])
        recordings.append(run(net, steps_per_pattern, **kwargs))
    return Recording.concatenate(recordings)
