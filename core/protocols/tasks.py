r"""Tasks: the nonlinear regression of Fig. 2 (a student learns a random teacher network).

The teacher is a feed-forward rate network :math:`30-20-10` with the student's :math:`\varphi`:

.. math:: u^\mathrm{trgt} = k_{21}\, W^t_{2,1}\, \varphi(k_{10}\, W^t_{1,0}\, r_0),
          \qquad k_{21} = 10,\ k_{10} = 2,

with teacher weights and inputs drawn :math:`U(-1, 1)`. The output target of the student is the
teacher's output potential; the error is :math:`\lVert r_N - \varphi(u^\mathrm{trgt}) \rVert^2`,
measured on unseen patterns at :math:`\sigma = 0` from the student's bottom-up pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import validation
from ..simulate.steady_state import bottom_up_pass, predict
from ..model.transfer import TransferFunction, transfer_function


@dataclass
class TeacherTask:
    r"""A random teacher network that defines a regression target.

    Attributes
    ----------
    W_10, W_21 : ndarray
        Teacher weights :math:`W^t_{1,0}` ``(n_hidden, n_in)`` and :math:`W^t_{2,1}`.
    k10, k21 : float
        Gains of the teacher's layers.
    transfer : TransferFunction
    input_low, input_high : float
        Inputs are drawn :math:`U(\mathrm{low}, \mathrm{high})`.
    """

    W_10: np.ndarray
    W_21: np.ndarray
    k10: float
    k21: float
    transfer: TransferFunction
    input_low: float = -1.0
    input_high: float = 1.0

    @classmethod
    def random(cls, transfer, sizes=(30, 20, 10), *, seed=0, k10=2.0, k21=10.0, weight_scale=1.0):
        """Draw a teacher with weights :math:`U(-s, s)` from its own generator."""
        n_in, n_hidden, n_out = validation.layer_sizes(sizes)
        rng = np.random.default_rng(seed)
        return cls(W_10=rng.uniform(-weight_scale, weight_scale, (n_hidden, n_in)),
                   W_21=rng.uniform(-weight_scale, weight_scale, (n_out, n_hidden)),
                   k10=float(k10), k21=float(k21), transfer=transfer)

    def inputs(self, rng, n_patterns):
        """``n_patterns`` input rate vectors :math:`r_0`."""
        return rng.uniform(self.input_low, self.input_high, (n_patterns, self.W_10.shape[1]))

    def target_potentials(self, input_rates):
        """Teacher output potentials :math:`u^\\mathrm{trgt}` for a batch of inputs."""
        hidden = self.transfer.phi(self.k10 * np.atleast_2d(input_rates) @ self.W_10.T)
        return self.k21 * hidden @ self.W_21.T

    def target_rates(self, input_rates):
        r""":math:`r^\mathrm{trgt} = \varphi(u^\mathrm{trgt})`."""
        return self.transfer.phi(self.target_potentials(input_rates))


@dataclass
class Association:
    r"""One input pattern and one output target, shown again and again (Fig. 1).

    The same interface as :class:`TeacherTask`, so protocols and the live simulation treat both
    alike.

    Attributes
    ----------
    input_rates : ndarray, shape (n_0,)
    target_potential : ndarray, shape (n_N,)
    transfer : TransferFunction
    """

    input_rates: np.ndarray
    target_potential: np.ndarray
    transfer: TransferFunction

    @classmethod
    def near_output(cls, net, *, seed=0, offset=2.0):
        r"""A pattern :math:`r_0 \sim U(0, 1)` and a target that moves the network's current
        output potential by :math:`U(-\mathrm{offset}, \mathrm{offset})` per neuron."""
        rng = np.random.default_rng(seed)
        pattern = rng.uniform(0, 1, net.sizes[0])
        target = predict_potentials(net, pattern) + rng.uniform(-offset, offset, net.sizes[-1])
        return cls(pattern, target, transfer_function(net.params))

    def inputs(self, rng, n_patterns):
        """The pattern, ``n_patterns`` times (``rng`` is unused; kept for the common interface)."""
        return np.repeat(self.input_rates[None], n_patterns, axis=0)

    def target_potentials(self, input_rates):
        """The target, once per input row."""
        return np.repeat(self.target_potential[None], len(np.atleast_2d(input_rates)), axis=0)

    def target_rates(self, input_rates):
        r""":math:`r^\mathrm{trgt} = \varphi(u^\mathrm{trgt})`."""
        return self.transfer.phi(self.target_potentials(input_rates))


def predict_potentials(net, input_rates):
    """Output potentials of the bottom-up pass for one pattern."""
    return bottom_up_pass(net, input_rates)[net.n_layers][0]


def squared_error(output_rates, target_rates):
    r"""Mean over patterns of :math:`\lVert r - r^\mathrm{trgt} \rVert^2`."""
    diff = np.atleast_2d(output_rates) - np.atleast_2d(target_rates)
    return float(np.mean(np.sum(diff ** 2, axis=-1)))


def regression_error(net, task, input_rates):
    """Test error of a microcircuit on ``task`` (bottom-up pass, :math:`\\sigma = 0`)."""
    return squared_error(predict(net, input_rates), task.target_rates(input_rates))
