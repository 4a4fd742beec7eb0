"""A guided path through each scenario: numbered steps that tick themselves when the run gets there.

Each :class:`Step` says what to do or to watch, names the notebook that explains it, and has a
test of the running :class:`live.LiveSimulation` (its whole-run record, events and measures)
that tells when the step is reached. A reached step stays ticked until the run is rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

APICAL = "apical_sq1"
"""The whole-run column the steps read: the error signal of the first hidden layer."""
DONE = '<b style="color:#2e7d32">✓ done:</b>'
TO_DO = '<span style="color:#777777">○</span>'
RECENT_BINS = 3
"""Bins averaged for "the apical energy now" (a single bin is noisy)."""


@dataclass(frozen=True)
class Step:
    """One step of a guided path.

    Attributes
    ----------
    text : str
        What to do or to watch (Markdown, written here: never user input).
    notebook : str
        The notebook that explains it.
    reached : callable
        ``reached(simulation) -> bool``.
    """

    text: str
    notebook: str
    reached: Callable


def played(simulation):
    """The run has advanced past its first pattern."""
    return simulation.network.state.time > 0


def apical_fell(simulation, factor=10.0):
    """The apical energy of the last bins is ``factor`` times below that of the first bin."""
    apical = simulation.whole_run.table()[APICAL]
    apical = apical[np.isfinite(apical)]
    if len(apical) < RECENT_BINS + 1:
        return False
    return bool(apical[0] >= factor * apical[-RECENT_BINS:].mean())


def _nudging_onset(simulation):
    """Time (ms) of the latest switch of nudging to on, or None."""
    onsets = [e.time for e in simulation.events.events if e.label == "nudging on"]
    return onsets[-1] if onsets else None


def _around_onset(simulation):
    """Around the latest nudging onset (None without one): the apical energy of the bins before
    (their means: the level) and, after it, each bin's largest sample and its mean. The largest
    samples catch the error, which lasts a second or two, in the long bins of a long run."""
    onset = _nudging_onset(simulation)
    if onset is None:
        return None
    table = simulation.whole_run.table()
    width = simulation.whole_run.width
    before = table["time"] + width / 2 <= onset
    after = table["time"] - width / 2 >= onset
    return table[APICAL][before][-5:], table[f"{APICAL}_max"][after], table[APICAL][after]


def nudging_on(simulation):
    return _nudging_onset(simulation) is not None


def error_woke(simulation, factor=5.0):
    """After nudging switched on, the apical energy rose ``factor`` times above its level in the
    bins before."""
    around = _around_onset(simulation)
    if around is None:
        return False
    level, largest, _ = around
    return len(level) > 0 and len(largest) > 0 and bool(largest.max() >= factor * level.mean())


def error_faded(simulation, factor=3.0):
    """After waking, the apical energy fell ``factor`` times below its peak."""
    if not error_woke(simulation):
        return False
    _, largest, means = _around_onset(simulation)
    peak = int(np.argmax(largest))
    return len(means) >= peak + 1 + RECENT_BINS and \
        bool(largest.max() >= factor * means[-RECENT_BINS:].mean())


def interneurons_predict(simulation, cosine=0.9):
    """W^PI points along -W^PP_{1,2}: the interneurons cancel the top-down input."""
    measure = simulation.last_measure
    return measure is not None and measure["cos_PI_vs_top_down"] >= cosine


def self_predicting_set(simulation):
    return any(e.kind == "self-predicting" for e in simulation.events.events)


def error_halved(simulation):
    """The test error is half of what it was at the start of the run."""
    first, last = simulation.first_measure, simulation.last_measure
    return first is not None and last is not None and last["test_error"] <= first["test_error"] / 2


def beats_shallow(simulation, patterns=200):
    """After ``patterns`` patterns, the microcircuit's test error is below the shallow learner's."""
    last = simulation.last_measure
    return last is not None and last["patterns"] >= patterns and \
        last["test_error"] < last["shallow_error"]


def simulated_for(seconds):
    """A test: the run's clock has passed ``seconds`` of simulated time."""
    def reached(simulation):
        return simulation.network.state.time >= 1000.0 * seconds
    return reached


def nudged_for(seconds):
    """A test: nudging has been on for ``seconds`` of simulated time since it was last
    switched on."""
    def reached(simulation):
        onset = _nudging_onset(simulation)
        return (onset is not None and simulation.network.nudging
                and simulation.network.state.time - onset >= 1000.0 * seconds)
    return reached


def presented(patterns):
    """A test: the run has presented ``patterns`` patterns."""
    def reached(simulation):
        return simulation.patterns_seen >= patterns
    return reached


def sigma_changed(simulation):
    return any(e.kind == "parameter" and e.label.startswith("sigma ")
               for e in simulation.events.events)


GUIDES = {
    "fig-s1": [
        Step("Press **▶ Play**: the lateral weights W^IP and W^PI start to learn.",
             "05_self_predicting_state", played),
        Step("Watch the red curve of the **Whole run** plot fall: the apical potentials go silent "
             "(10× lower than at the start).", "05_self_predicting_state", apical_fell),
        Step("In **Weight alignment**, W^PI turns towards −W^PP (cos > 0.9): the interneurons "
             "now predict the next layer.", "05_self_predicting_state", interneurons_predict),
        Step("Press **Initialize to self-predicting state**: the weights the learning was "
             "heading for, computed directly.", "05_self_predicting_state", self_predicting_set),
    ],
    "fig1": [
        Step("Press **▶ Play**: the network starts self-predicting, its apical potentials are "
             "silent.", "06_errors_in_apical_dendrites", played),
        Step("Switch **nudging on**: the target pulls the output (a green mark appears).",
             "06_errors_in_apical_dendrites", nudging_on),
        Step("An error appears in the apical dendrites: the red curve jumps 5× at the mark.",
             "06_errors_in_apical_dendrites", error_woke),
        Step("W^PP_{1,0} learns and the apical error fades (3× below its peak).",
             "06_errors_in_apical_dendrites", error_faded),
    ],
    "fig2": [
        Step("Press **▶ Play**: every pattern comes with the teacher's target.",
             "08_nonlinear_regression", played),
        Step("The purple learning curve halves: the microcircuit learns the teacher.",
             "08_nonlinear_regression", error_halved),
        Step("After 200 patterns it is below the shallow learner (only output weights learn): "
             "the hidden layer learns too.", "08_nonlinear_regression", beats_shallow),
        Step("Move the **σ** slider (noise) and watch the learning curve after the green mark.",
             "08_nonlinear_regression", sigma_changed),
    ],
    # the paper's regime: the same stories with the paper's (SM?) values, to compare with ours
    "fig-s1-paper": [
        Step("Press **▶ Play**: the lateral weights learn at the SM's rates (η^IP = 0.0002375, "
             "η^PI = 0.0005 per ms; the Fig. S1 scenario uses 3 per ms).",
             "05_self_predicting_state", played),
        Step("Let it run 30 s of simulated time (the status line's clock) and compare the red "
             "curve with the **Fig. S1** scenario's: at θ = 3 most neurons sit near their floor "
             "rate.", "05_self_predicting_state", simulated_for(30)),
    ],
    "fig1-paper": [
        Step("Press **▶ Play**: the network starts self-predicting.",
             "06_errors_in_apical_dendrites", played),
        Step("Switch **nudging on**: the target pulls the output (a green mark appears).",
             "06_errors_in_apical_dendrites", nudging_on),
        Step("Keep nudging on for 10 s of simulated time and compare how the apical error fades "
             "with the **Fig. 1** scenario: the SM's η^PP_{1,0} = 0.0011875 per ms is 170× "
             "smaller than ours.", "06_errors_in_apical_dendrites", nudged_for(10)),
    ],
    "fig2-paper": [
        Step("Press **▶ Play**: the teacher task of Fig. 2 with the paper's values.",
             "08_nonlinear_regression", played),
        Step("After 300 patterns (30 s of simulated time), compare the learning curve with the "
             "**Fig. 2** scenario's: at θ = 3 the outputs and targets sit near the floor rate "
             "and the SM's forward rates are 200-420× below ours.",
             "08_nonlinear_regression", presented(300)),
    ],
}
"""The guided path of each scenario."""


class Guide:
    """The guided path of one run: which steps are reached (they stay reached)."""

    def __init__(self, scenario):
        self.steps = GUIDES.get(scenario, [])
        self.reached = [False] * len(self.steps)

    def update(self, simulation):
        """Tick the steps the run has reached; return whether any new one was."""
        changed = False
        for i, step in enumerate(self.steps):
            if not self.reached[i] and step.reached(simulation):
                self.reached[i] = changed = True
        return changed

    def markdown(self):
        """The steps as a numbered Markdown list, reached ones ticked."""
        # marks every font has (an offline classroom may have no emoji font)
        return "\n".join(
            f"{i}. {DONE if done else TO_DO} {step.text} <small>(notebook "
            f"`{step.notebook}`)</small>"
            for i, (step, done) in enumerate(zip(self.steps, self.reached), start=1))
