r"""Running the full time-continuous dynamics: blocks of Euler-Maruyama steps on the chosen back
end, with recordings (:mod:`.recording`) and divergence checks (:mod:`.divergence`).

The step itself is :func:`core.simulate.euler.advance` (written once; :mod:`core.simulate.twins`
compiles the same source). :func:`run` cuts a run into blocks (at most :data:`MAX_BLOCK` steps, and
at every sample to record), hands each block to the chosen back end, and after each block checks
that nothing diverged. How a run is cut does not change its trajectory.
"""

from __future__ import annotations

import math

import numpy as np

from . import euler, twins
from ..model import validation
from .context import model_context
from .compartments import compartments
from ..model.equations import interneuron_attenuation
from .divergence import check_block, check_dendrites
from ..model.layers import MATRICES, Weights, layer_attenuation
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


def _plastic(by_name, N, vector=_EMPTY_VECTOR):
    """Per-layer arrays (``by_name[name]`` a dict keyed by layer for each of
    :data:`~core.model.layers.MATRICES`) as a :class:`core.simulate.euler.Plastic` of tuples;
    ``vector`` stands for a missing threshold."""
    return euler.Plastic(**{
        name: _by_layer(by_name[name], N + 1 if name in ("W_up", "b_up") else N,
                        vector if name.startswith("b_") else _EMPTY_MATRIX)
        for name in MATRICES})


def _views(flat, shapes):
    """Consecutive views of the flat array ``flat``, one of each shape."""
    views, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        views.append(flat[start:start + size].reshape(shape))
        start += size
    return views


_SOMA_ARRAYS = euler.Somata._fields[:6]
"""The flat arrays of :class:`core.simulate.euler.Somata`; its other fields are views of them."""
_SOMA_VIEWS = euler.Somata._fields[6:]
_PYRAMIDAL_VIEWS = ("u_P", "r_P", "v_B", "error_P", "drift_P")
"""The views indexed by layer ``0..N`` (the others by hidden layer, ``0..N-1``)."""
_MATRIX_VIEWS = ("r_P", "r_I", "v_B", "v_I")
"""The ``(B, n)`` views, which matrix products read or write (the others are flat, for the
equations that act element by element)."""


class _Layout:
    """The flat arrays a block of steps works on (:mod:`core.simulate.euler`, "Containers") and
    their views, for one network shape, batch size and set of learning quantities: built once per
    parameter revision, filled from the network before every block and copied back after it."""

    def __init__(self, ctx, N, batch, learns, shapes):
        learning_rates = ctx.for_step(_rate_table, N, learns)
        sizes = {name: {} for name in MATRICES}
        for name, k, shape in shapes:
            sizes[name][k] = shape
        n = [sizes["W_up"][1][1]] + [sizes["W_up"][k][0] for k in range(1, N + 1)]
        self.somata_order = [(u, k) for k in range(1, N + 1)
                             for u in ("u_P", "u_I")[:1 + (k < N)]]
        soma_shapes = [(batch, n[k + (u == "u_I")]) for u, k in self.somata_order]
        size = sum(math.prod(shape) for shape in soma_shapes)
        flat = {kind: np.zeros(size) for kind in _SOMA_ARRAYS}
        per_soma = {kind: _views(array, soma_shapes) for kind, array in flat.items()}
        self.soma_views = per_soma["potentials"]
        self.filtered = np.zeros(batch * (n[0] + n[N]))
        self.patterns = np.zeros_like(self.filtered)
        self.input_views = _views(self.filtered, [(batch, n[0]), (batch, n[N])])
        self.inputs = euler.Inputs(self.filtered, self.patterns, self.input_views[0],
                                   self.input_views[1].ravel())
        by_layer = {name: {} for name in _SOMA_VIEWS}
        by_layer["r_P"][0] = self.input_views[0]
        self.potentials = {}, {}
        """The ``(B, n)`` views of the potentials by layer, as dicts (those of
        :class:`~core.model.layers.State`)."""
        p = ctx.p
        for i, (u, k) in enumerate(self.somata_order):
            P = u == "u_P"
            self.potentials[not P][k] = per_soma["potentials"][i]
            by_layer[u][k] = per_soma["potentials"][i].ravel()
            by_layer["r_P" if P else "r_I"][k] = per_soma["rates"][i]
            by_layer["v_B" if P else "v_I"][k] = per_soma["dendrites"][i]
            by_layer["error_P" if P else "error_I"][k] = per_soma["errors"][i].ravel()
            by_layer["drift_P" if P else "drift_I"][k] = per_soma["drifts"][i].ravel()
            per_soma["attenuation"][i][...] = (
                layer_attenuation(p, k, N) if P else interneuron_attenuation(p.g_lk, p.g_D))
        self.threshold_input = np.ones((batch, 1)) if sizes["b_up"] else None
        """The input of every threshold (a weight from 1), None without thresholds."""
        self.somata = euler.Somata(**flat, **{
            name: _by_layer(views, N + 1 if name in _PYRAMIDAL_VIEWS else N,
                            _EMPTY_MATRIX if name in _MATRIX_VIEWS else _EMPTY_VECTOR)
            for name, views in by_layer.items()})
        self.learned = [(name, k) for name, k, _ in shapes if getattr(learning_rates, name)[k] > 0]
        learned_shapes = [sizes[name][k] for name, k in self.learned]
        size = sum(math.prod(shape) for shape in learned_shapes)
        self.weights, self.traces, induction = np.zeros(size), np.zeros(size), np.zeros(size)
        self.weight_views = _views(self.weights, learned_shapes)
        self.trace_views = _views(self.traces, learned_shapes)
        terms = _views(induction, [shape if len(shape) == 2 else (shape[0], 1)  # a threshold:
                                   for shape in learned_shapes])               # a column
        eta_dt = np.repeat([getattr(learning_rates, name)[k] * ctx.p.dt for name, k in self.learned],
                           [math.prod(shape) for shape in learned_shapes])
        self.learning = euler.Learning(
            self.weights, self.traces, induction, eta_dt,
            _plastic({name: {k: term for (learned, k), term in zip(self.learned, terms)
                             if learned == name} for name in MATRICES}, N, vector=_EMPTY_MATRIX))

    def fill(self, net):
        """Copy ``net``'s potentials, inputs and learning weights and traces into the arrays;
        returns the block's weights (a :class:`~core.model.layers.Weights`: the network's, and
        views of ``weights`` for those that learn)."""
        s, w = net.state, net.weights
        _fill(self.somata.potentials, [getattr(s, u)[k] for u, k in self.somata_order])
        _fill(self.filtered, [s.r_input, s.u_target])
        _fill(self.patterns, [s.input_pattern, s.target_pattern])
        _fill(self.weights, [getattr(w, name)[k] for name, k in self.learned])
        _fill(self.traces, [getattr(s.traces, name)[k] for name, k in self.learned])
        replaced = {name: dict(getattr(w, name)) for name in MATRICES}
        for (name, k), view in zip(self.learned, self.weight_views):
            replaced[name][k] = view
        return Weights(**replaced)

    def store(self, net):
        """Copy what a block changed back into ``net``."""
        s, w = net.state, net.weights
        for (u, k), view in zip(self.somata_order, self.soma_views):
            getattr(s, u)[k][...] = view
        s.r_input[...], s.u_target[...] = self.input_views
        for (name, k), view, trace in zip(self.learned, self.weight_views, self.trace_views):
            getattr(w, name)[k][...] = view
            getattr(s.traces, name)[k][...] = trace


def _fill(flat, arrays):
    if arrays:
        np.concatenate([array.ravel() for array in arrays], out=flat)


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


def _constants(ctx, nudging):
    p = ctx.p
    return euler.Constants(
        dt=float(p.dt), g_lk=float(p.g_lk), g_B=float(p.g_B), g_A=float(p.g_A),
        g_D=float(p.g_D), g_som=float(p.g_som),
        g_som_output=float(p.g_som) if nudging else 0.0,
        noise_scale=float(p.sigma * np.sqrt(p.dt)), tau_w=float(p.tau_w), tau_0=float(p.tau_0))


def _advance(net, ctx, n_steps, learn_from, step):
    """Hand ``n_steps`` steps of ``net`` to ``step`` (:func:`core.simulate.euler.advance` or its
    compiled twin) on copies of its arrays (:class:`_Layout`), which :func:`_store` hands back
    to the network once nothing diverged: until then the network is as before the block.

    Returns
    -------
    layout : _Layout
    weights : Weights
        The weights after the block (views of ``layout``'s arrays where they learn).
    clocks : tuple of float
        ``time`` and ``pattern_time`` after the block.
    """
    N, s, w = net.n_layers, net.state, net.weights
    constants = ctx.for_step(_constants, bool(net.nudging))
    layout = ctx.for_step(_Layout, N, s.r_input.shape[0], learn_from < n_steps,
                          tuple((name, k, W.shape) for name, k, W in w.items()))
    weights = layout.fill(net)
    clocks = step(
        n_steps, learn_from, constants, ctx.phi.phi, layout.somata, layout.inputs,
        layout.threshold_input, _plastic(vars(weights), N), layout.learning, net.rng,
        float(s.time), float(s.pattern_time))
    return layout, weights, clocks


def _store(net, layout, n_steps, clocks):
    """The network takes a block's results (:func:`_advance`)."""
    layout.store(net)
    net.state.steps += n_steps
    net.state.time, net.state.pattern_time = clocks


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
        first = net.state.steps
        sampled = bool(record) and (first + block) % record_every == 0
        with np.errstate(over="ignore", invalid="ignore"):  # reported by the checks
            layout, weights, clocks = _advance(net, ctx, block, learn_from, advance)
            u_P, u_I = layout.potentials
            check_block(u_P, u_I, weights, first, block, ctx)  # (whose sums may meet inf - inf)
            if sampled:
                comp = compartments(weights, u_P, u_I, layout.input_views[0], ctx.phi.phi)
                check_dendrites(comp, weights, first, block, ctx)
        _store(net, layout, block, clocks)
        done += block
        if sampled:
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
