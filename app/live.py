r"""A live simulation for interactive front ends (the dashboard, notebooks).

A :class:`LiveSimulation` owns one network, the pattern stream of a
:class:`~core.protocols.configuration.Scenario`, a backprop baseline trained on the same patterns,
and a bounded history of the traces a dashboard plots. It advances in small pieces -- an exact
number of Euler steps (:meth:`LiveSimulation.advance`) or as many as fit a wall-clock budget
(:meth:`LiveSimulation.advance_for`) -- and returns each piece as a :class:`Frame` of downsampled
columns. It knows nothing about any user interface.

The dynamics do not depend on how the run is cut into pieces: noise is drawn in the same order
whatever the block sizes (see :mod:`core.simulate.euler`), so the same seed gives the same
trajectory. A live simulation never waits for numba to compile: until the compiled step is ready in
this process (:mod:`core.simulate.compiled`), its pieces run on the NumPy path, which agrees with
the compiled one to 1e-12 but not bit for bit, so only a run that starts once the compiled step is
ready (or without numba) is bitwise reproducible.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from core.simulate import compiled
from core.model import validation
from core.protocols.baselines import MLP, cosine_similarity, forward_feedback_angle
from core.simulate.dynamics import presentation_steps, run
from core.simulate.recording import Recording
from core.errors import DivergenceError
from core.simulate.plasticity import RATES, rate_count
from core.protocols.presets import get_preset, get_scenario
from core.protocols.tasks import Association, TeacherTask, regression_error, squared_error
from core.model.transfer import transfer_function
from whole_run import BinnedRecord, EventLog, to_csv

TEST_PATTERNS = 100
"""Unseen patterns on which the test error is measured (bottom-up pass, sigma = 0)."""
HISTORY_ROWS = 5000
"""Trace samples kept for export; older ones are dropped."""
TRACE_NEURONS = 5
"""Neurons per population whose traces are recorded (the first ones)."""
MIN_PIECE = 100
"""Steps :meth:`LiveSimulation.advance_for` advances while the speed is not measured yet (the
first piece may include compiling the step, and is not counted)."""
MAX_WEIGHTS = 500_000
"""Most weights a live simulation accepts (e.g. 784-500-10 or 300-300-300-10): sized so that even
a piece of :data:`MIN_PIECE` steps of such a network keeps a server that runs other sessions busy
for 0.2 s at most, also on the NumPy path (benchmarks/README.md, "Design figures")."""
MIN_RECORD_EVERY = 50
"""Fewest steps between two trace samples (5 ms at the paper's dt): every sample ends a block of
the simulator, and a block's bookkeeping costs as much as tens of steps of the dynamics
(benchmarks/README.md, "Design figures")."""


def fit_rates_to_depth(params, n_layers):
    """Stretch per-layer learning rates written for another depth to ``n_layers`` layers.

    A preset's rates are per layer of its own architecture; with custom sizes of another depth,
    every extra hidden layer takes the first hidden layer's rate and the output keeps its own.
    Lists of one rate (the same for all layers) are left alone.
    """
    for name in RATES:
        count = rate_count(name, n_layers)
        rates = list(getattr(params, name))
        if len(rates) in (1, count):
            continue
        if name == "eta_PP_up":
            rates = [rates[0]] * (count - 1) + [rates[-1]]
        else:
            rates = (rates + [rates[-1]] * count)[:count]
        setattr(params, name, rates)


@dataclass
class Frame:
    """One piece of a live run.

    Attributes
    ----------
    traces : dict[str, ndarray]
        Downsampled traces, one column per quantity (see :attr:`LiveSimulation.columns`), all of
        the same length (possibly 0).
    progress : dict[str, ndarray] or None
        One row of slower measures at the end of the piece: test errors of the microcircuit and of
        the backprop baseline, weight alignments (see :data:`PROGRESS_COLUMNS`); ``None`` when
        the piece was advanced without measuring.
    steps : int
        Euler steps advanced.
    wall_time : float
        Seconds it took.
    error : str or None
        Why the piece stopped early (instability, divergence, bad parameters); the network is left
        as it was before the failing steps.
    """

    traces: dict
    progress: dict
    steps: int
    wall_time: float
    error: str | None = None


PROGRESS_COLUMNS = {
    "time": "simulated time (ms)",
    "patterns": "patterns presented",
    "test_error": "microcircuit test error, mean ||r_N - r_trgt||^2 on unseen patterns",
    "baseline_error": "the backprop MLP's test error on the same patterns",
    "cos_PI_vs_top_down": "cosine between W^PI_1 and -W^PP_{1,2} (1 when self-predicting)",
    "cos_IP_vs_self_predicting": "cosine between W^IP_1 and its self-predicting value (NaN for "
                                 "g_D = 0, where none exists)",
    "forward_feedback_angle": "angle (deg) between W^PP_{2,1} and the transposed W^PP_{1,2}",
    "shallow_error": "test error of a shallow learner: the backprop MLP with only its output "
                     "weights learning, on the same patterns",
    "forward_change": "how far W^PP_{1,0} has moved from its value at the start of the run, "
                      "||W - W(0)|| / ||W(0)||",
}
"""Columns of :attr:`Frame.progress`."""


def whole_run_columns(n_layers):
    """Columns of :attr:`LiveSimulation.whole_run` for a network of ``n_layers`` layers, with
    what each holds: the error signals of the paper, binned over the whole run."""
    columns = {f"apical_sq{k}": f"mean squared apical potential of hidden layer {k}, "
                                "mean v_A^2 (the error signal)" for k in range(1, n_layers)}
    columns["output_error"] = ("mean squared output error (u_trgt - u_N)^2 while nudging is on "
                               "(what the teaching current pulls on), NaN while it is off")
    return columns


def _shown(value):
    """A parameter value as an event label shows it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


class TraceHistory:
    """The last ``capacity`` trace samples, for export (a ring buffer: memory stays bounded)."""

    def __init__(self, columns, capacity=HISTORY_ROWS):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self.columns = list(columns)
        self._rows = np.zeros((capacity, len(self.columns)))
        self._count = 0  # samples ever added

    def extend(self, traces):
        """Append the rows of a :attr:`Frame.traces` dictionary."""
        block = np.column_stack([np.asarray(traces[c], dtype=float) for c in self.columns])
        capacity = len(self._rows)
        block = block[-capacity:]
        self._rows[(self._count + np.arange(len(block))) % capacity] = block
        self._count += len(block)

    def table(self):
        """The kept samples in time order, as a ``(n, len(columns))`` array."""
        capacity = len(self._rows)
        if self._count <= capacity:
            return self._rows[:self._count].copy()
        start = self._count % capacity
        return np.concatenate([self._rows[start:], self._rows[:start]])

    def to_csv(self, events=()):
        """The kept samples as CSV text with a header row and a last column naming the
        :class:`~whole_run.Event` s among ``events`` that happened at each sample (see
        :func:`whole_run.to_csv`)."""
        table = self.table()
        return to_csv({c: table[:, i] for i, c in enumerate(self.columns)}, events)


class LiveSimulation:
    """One network running a scenario, advanced piece by piece; see the module docstring.

    Parameters
    ----------
    scenario : str
        A key of :data:`core.protocols.presets.SCENARIOS`.
    seed : int
        Seeds the network, the task, the pattern stream and the test set (a non-negative integer).
    layer_sizes : sequence of int, optional
        Instead of the preset's architecture (at least one hidden layer).
    history_rows : int
        Trace samples kept for export.

    Attributes
    ----------
    network : Network
        Its ``params`` may be changed at any time; they take effect at the next piece.
    task : TeacherTask or Association
    baseline : MLP
        Backprop on the same patterns, starting from the network's forward weights.
    columns : list of str
        Trace columns: ``time``, ``apical_sq`` and per-neuron ``v_A1[i]``, ``u_P<N>[i]``,
        ``u_target[i]``, ``u_I1[i]``, ``u_P2[i]``.
    patterns_seen : int
    whole_run : BinnedRecord
        The error signals of the whole run (:func:`whole_run_columns`), binned in time.
    events : EventLog
        What happened to the run: nudging switched, a parameter changed, the self-predicting
        state set, a network loaded.
    first_measure, last_measure : dict[str, float] or None
        The first and the latest row of :meth:`measure` (``None`` before any).
    """

    def __init__(self, scenario="fig1", *, seed=0, layer_sizes=None, history_rows=HISTORY_ROWS):
        self.scenario = get_scenario(scenario)
        sizes = None if layer_sizes is None else validation.layer_sizes(layer_sizes)
        if sizes is not None and len(sizes) < 3:
            raise ValueError(f"layer_sizes must have at least one hidden layer (three numbers, "
                             f"e.g. 30-50-10) for apical potentials to exist, got {list(sizes)}")
        if sizes is not None and validation.weight_count(sizes) > MAX_WEIGHTS:
            raise ValueError(f"layer_sizes {'-'.join(map(str, sizes))} would need "
                             f"{validation.weight_count(sizes):,} weights; a live simulation "
                             f"takes at most {MAX_WEIGHTS:,} (e.g. 784-500-10), so that one "
                             "session cannot hold up the others")
        self.seed = validation.seed(seed)
        self.network = get_preset(self.scenario.preset).make_network(
            seed=self.seed, layer_sizes=sizes, **self.scenario.overrides)
        fit_rates_to_depth(self.network.params, self.network.n_layers)
        self.network.nudging = self.scenario.nudging
        self.task = self._make_task()
        self.test_inputs = self.task.inputs(np.random.default_rng(self.seed + 3000), TEST_PATTERNS)
        self._test_targets = self.task.target_rates(self.test_inputs)
        self._pattern_rng = np.random.default_rng(self.seed + 2000)
        self.baseline = MLP.from_network(self.network)
        self.shallow = MLP.from_network(self.network)
        self._initial_forward = self.network.weights.W_up[1].copy()
        self._recorded = self._recorded_populations()
        self.columns = ["time", "apical_sq"] + [f"{name}[{i}]" for name, count in self._recorded
                                                 for i in range(count)]
        self.history = TraceHistory(self.columns, history_rows)
        self.whole_run = self._new_whole_run()
        self.events = EventLog()
        self.patterns_seen = 0
        self.first_measure = self.last_measure = None
        self.steps_per_second = None
        self._pieces_timed = 0
        self._nudging_seen = self.network.nudging
        self._watch_parameters()
        self._present_next()

    def _make_task(self):
        net, scenario = self.network, self.scenario
        if scenario.task == "association":
            return Association.near_output(net, seed=self.seed + 1, offset=scenario.target_offset)
        teacher = TeacherTask.random(transfer_function(net.params),
                                     sizes=(net.sizes[0], 20, net.sizes[-1]), seed=self.seed + 1000)
        low, high = scenario.input_range
        return dataclasses.replace(teacher, input_low=low, input_high=high)

    def _recorded_populations(self):
        sizes, N = self.network.sizes, self.network.n_layers
        populations = {"v_A1": sizes[1], f"u_P{N}": sizes[N], "u_target": sizes[N],
                       "u_I1": sizes[2], "u_P2": sizes[2]}
        return [(name, min(TRACE_NEURONS, n)) for name, n in populations.items()]

    def replace_network(self, network):
        """Continue with ``network`` (e.g. loaded from a file) in place of the running one; the
        scenario, its patterns, the baseline and the history stay.

        Raises
        ------
        ValueError
            When its layer sizes differ from the running network's (nothing is replaced).
        """
        if tuple(network.sizes) != tuple(self.network.sizes):
            raise ValueError(f"network has layer sizes {list(network.sizes)}; this simulation "
                             f"runs {list(self.network.sizes)}")
        self.network = network
        self._nudging_seen = network.nudging
        self._watch_parameters()
        if network.state.time < self.whole_run.end:  # its clock is behind the record's
            self.whole_run = self._new_whole_run()
        self._event("loaded", f"network loaded (t = {network.state.time:.1f} ms)")

    # ---- the whole run -----------------------------------------------------------------------
    def _new_whole_run(self):
        return BinnedRecord(whole_run_columns(self.network.n_layers),
                            width=self.network.params.presentation_time,
                            origin=self.network.state.time)

    def _event(self, kind, label):
        return self.events.add(self.network.state.time, self.patterns_seen, kind, label)

    def _watch_parameters(self):
        """Log every change of the running network's parameters (from a slider, a notebook, a
        file) as an event."""
        params = self.network.params
        params.param.watch(self._parameters_changed,
                           [name for name in params.param if name != "name"])

    def _parameters_changed(self, *events):
        for change in events:
            if change.obj is self.network.params:  # not an earlier network's
                self._event("parameter", f"{change.name} {_shown(change.old)} → "
                                         f"{_shown(change.new)}")

    def set_nudging(self, on):
        """Show the output target (``on``) or not, as an event of the run."""
        self.network.nudging = bool(on)
        self._note_nudging()

    def _note_nudging(self):
        """Log a switch of nudging since the last piece (whoever set ``network.nudging``)."""
        if self.network.nudging != self._nudging_seen:
            self._nudging_seen = self.network.nudging
            self._event("nudging", f"nudging {'on' if self._nudging_seen else 'off'}")

    def make_self_predicting(self):
        """Set the network's lateral weights to the self-predicting state (see
        :meth:`core.model.network.Network.make_self_predicting`), as an event of the run."""
        self.network.make_self_predicting()
        self._event("self-predicting", "set self-predicting")

    def _record_whole_run(self, recording):
        N = self.network.n_layers
        values = {f"apical_sq{k}": np.mean(recording.values[f"v_A{k}"] ** 2, axis=(1, 2))
                  for k in range(1, N)}
        if self.network.nudging:
            error = recording.values["u_target"] - recording.values[f"u_P{N}"]
            values["output_error"] = np.mean(error ** 2, axis=(1, 2))
        else:
            values["output_error"] = np.full(len(recording.time), np.nan)
        self.whole_run.add(recording.time, values)

    # ---- the pattern stream ----------------------------------------------------------------
    def _present_next(self):
        inputs = self.task.inputs(self._pattern_rng, 1)
        target = self.task.target_potentials(inputs)
        self.network.present(inputs[0], target[0])
        self.patterns_seen += 1
        rate = self.scenario.baseline_learning_rate
        if self.network.nudging and rate > 0:
            # the baselines learn from the same teacher: only while the target is shown
            target_rates = self.task.transfer.phi(target)
            self.baseline.train_batch(inputs, target_rates, rate)
            N = self.shallow.n_layers
            self.shallow.train_batch(inputs, target_rates,
                                     {k: rate if k == N else 0.0 for k in range(1, N + 1)})

    def steps_per_pattern(self):
        """Euler steps of one presentation, :math:`T / \\Delta t` (at least one; see
        :func:`core.simulate.dynamics.presentation_steps`)."""
        return presentation_steps(self.network.params)

    def learning(self):
        """Whether plasticity acts now (see :attr:`~core.protocols.configuration.Scenario.learns_without_target`)."""
        return bool(self.network.nudging) or self.scenario.learns_without_target

    def steps_left_in_pattern(self):
        """Euler steps until the next pattern is shown."""
        p, s = self.network.params, self.network.state
        return self.steps_per_pattern() - int(round(s.pattern_time / p.dt))

    # ---- advancing ---------------------------------------------------------------------------
    def advance(self, n_steps, *, samples=50, measure=True):
        """Advance ``n_steps`` Euler steps (across pattern switches), keeping about ``samples``
        trace samples, and :meth:`measure` at the end unless ``measure`` is false (then
        :attr:`Frame.progress` is ``None``). Errors do not raise: they end the piece and are in
        :attr:`Frame.error`."""
        validation.count("n_steps", n_steps)
        record_every = max(MIN_RECORD_EVERY, n_steps // max(1, samples))
        per_pattern = self.steps_per_pattern()
        if per_pattern <= 2 * record_every:
            # sample at pattern ends: a sample inside a short pattern would cut its block in two
            record_every = per_pattern * max(1, round(record_every / per_pattern))
        N = self.network.n_layers
        names = list(dict.fromkeys(["apical_sq"] + [name for name, _ in self._recorded]
                                   + [f"v_A{k}" for k in range(1, N)]))
        self._note_nudging()
        pieces, done, error = [], 0, None
        start = time.perf_counter()
        try:
            while done < n_steps:
                left = self.steps_left_in_pattern()
                if left <= 0:
                    self._present_next()
                    continue
                n = min(n_steps - done, left)
                # never waits for numba: the NumPy path runs while the step compiles
                pieces.append(run(self.network, n, record=names, record_every=record_every,
                                  learning=self.learning(),
                                  backend=compiled.backend(*compiled.variant(self.network))))
                done += n
        except (ValueError, DivergenceError) as stop:
            error = str(stop)
        wall_time = time.perf_counter() - start
        if done and wall_time > 0:
            self._update_speed(done / wall_time)
        recording = Recording.concatenate(pieces)
        if len(recording.time):
            self._record_whole_run(recording)
        traces = self._columns(recording)
        self.history.extend(traces)
        return Frame(traces=traces, progress=self.measure() if measure else None, steps=done,
                     wall_time=wall_time, error=error)

    def advance_for(self, seconds, *, max_steps=None, samples=50, measure=True):
        """Advance as many steps as the measured speed fits into ``seconds`` of wall time
        (at most ``max_steps``); see :meth:`advance`."""
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds!r}")
        # until a piece has been timed, a small one: the speed of a large network is unknown
        n_steps = (MIN_PIECE if self.steps_per_second is None
                   else max(1, int(self.steps_per_second * seconds)))
        if max_steps is not None:
            n_steps = min(n_steps, int(max_steps))
        return self.advance(n_steps, samples=samples, measure=measure)

    def _update_speed(self, measured):
        self._pieces_timed += 1
        if self._pieces_timed == 1:
            return  # the first piece may include compiling the step: not a speed
        previous = self.steps_per_second
        self.steps_per_second = measured if previous is None else 0.5 * (previous + measured)

    def _columns(self, recording):
        columns = {"time": recording.time, "apical_sq": recording.values.get("apical_sq",
                                                                              np.zeros(0))}
        for name, count in self._recorded:
            values = recording.values.get(name, np.zeros((0, 1, count)))
            for i in range(count):
                columns[f"{name}[{i}]"] = values[:, 0, i]
        return columns

    # ---- measures ------------------------------------------------------------------------------
    def measure(self):
        """One row of :data:`PROGRESS_COLUMNS` for the current network (each a 1-element array)."""
        net = self.network
        w = net.weights
        try:
            scale = net.self_predicting_scale(1)
        except ValueError:  # g_D = 0: no self-predicting state exists to compare with
            scale = np.nan
        # the self-predicting W^IP_1 is scale * W^PP_{2,1}; the cosine ignores a positive factor,
        # which for a tiny g_D would take that matrix beyond the float range
        if scale > 0:
            cos_IP = cosine_similarity(w.W_IP[1], w.W_up[2])
        else:  # 0 for g_B = 0 (a zero matrix, as cosine_similarity has it) or NaN without one
            cos_IP = 0.0 if scale == 0 else np.nan
        with np.errstate(over="ignore", invalid="ignore"):
            row = {
                "time": net.state.time,
                "patterns": self.patterns_seen,
                "test_error": regression_error(net, self.task, self.test_inputs),
                "baseline_error": squared_error(self.baseline.predict(self.test_inputs),
                                                self._test_targets),
                "cos_PI_vs_top_down": cosine_similarity(w.W_PI[1], -w.W_down[1]),
                "cos_IP_vs_self_predicting": cos_IP,
                "forward_feedback_angle": forward_feedback_angle(w, 1),
                "shallow_error": squared_error(self.shallow.predict(self.test_inputs),
                                               self._test_targets),
                "forward_change": (np.linalg.norm(w.W_up[1] - self._initial_forward)
                                   / np.linalg.norm(self._initial_forward)),
            }
        row = {name: float(value) for name, value in row.items()}
        if self.first_measure is None:
            self.first_measure = row
        self.last_measure = row
        return {name: np.array([value]) for name, value in row.items()}

    def simulated_ms_per_second(self):
        """Simulated milliseconds per wall-clock second at the measured speed (0 before)."""
        return (self.steps_per_second or 0.0) * self.network.params.dt
