"""What a figure's protocol is made of: a :class:`Preset` (the network and the parameters that
differ from the defaults) and a :class:`Scenario` (what the live simulation shows of it).

Each figure's module (:mod:`.self_prediction`, :mod:`.fig1`, :mod:`.fig2`, :mod:`.classification`)
defines its presets and scenario next to its experiment, with the reasons for every value;
:mod:`.presets` collects them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.network import Network
from ..model.parameters import ModelParameters


@dataclass(frozen=True)
class Preset:
    """An experiment's network and parameters.

    Attributes
    ----------
    name : str
    title : str
    description : str
        What it reproduces and where its numbers come from.
    layer_sizes : tuple of int
    parameters : dict
        Overrides of the :class:`ModelParameters` defaults.
    self_predicting : bool
        Start in the analytical self-predicting state.
    """

    name: str
    title: str
    description: str
    layer_sizes: tuple
    parameters: dict = field(default_factory=dict)
    self_predicting: bool = False

    def make_parameters(self, **overrides):
        """A fresh :class:`ModelParameters` with this preset's values (and ``overrides``)."""
        return ModelParameters(**{**self.parameters, **overrides})

    def make_network(self, *, seed=0, layer_sizes=None, **overrides):
        """A fresh :class:`~core.model.network.Network` of this preset."""
        return Network(layer_sizes or self.layer_sizes, self.make_parameters(**overrides),
                       seed=seed, self_predicting=self.self_predicting)


@dataclass(frozen=True)
class Scenario:
    """What the live simulation shows: a preset, its pattern stream and where to start.

    Attributes
    ----------
    name, title : str
    description : str
        What to look for, in one or two sentences.
    preset : str
        Name of the :class:`Preset` it builds on.
    overrides : dict
        Parameter values that differ from the preset (those of the experiment it mirrors).
    task : {"teacher", "association"}
        Random inputs with a teacher network's targets (:class:`~core.protocols.tasks.TeacherTask`)
        or one pattern with one target (:class:`~core.protocols.tasks.Association`).
    target_offset : float
        For the association task: how far the target lies from the output's potentials (see
        :meth:`~core.protocols.tasks.Association.near_output`).
    nudging : bool
        Whether the output target is on at the start.
    input_range : tuple of float
        Teacher-task inputs are drawn uniformly from this range.
    baseline_learning_rate : float
        Learning rate of the backprop MLP trained on the same patterns (0: it does not learn,
        as when the forward weights are frozen).
    learns_without_target : bool
        Whether plasticity acts while nudging is off. Without a target there is nothing to learn,
        but with noise every rule still moves its weights by a zero-mean amount each step: the
        weights random-walk, with nothing to pull them back, at a speed that grows with the
        learning rates. At Fig. 1's rates (ours, 170x the paper's so that learning shows within
        seconds) and sigma = 0.1, W^PP_{1,0} moved 34 % in a minute of play with nudging off and
        the apical error rose instead of staying silent (the same with a linear rate function:
        not a bias of the convex phi).
    """

    name: str
    title: str
    description: str
    preset: str
    overrides: dict = field(default_factory=dict)
    task: str = "teacher"
    target_offset: float = 0.0
    nudging: bool = True
    input_range: tuple = (-1.0, 1.0)
    baseline_learning_rate: float = 0.0
    learns_without_target: bool = True
