r"""The network: its sizes, parameters, weights and state (:mod:`core.model.layers`), and how they are
initialised.

Layers are numbered as in the paper: :math:`k = 0` is the input, :math:`1..N-1` are hidden,
:math:`N` is the output.
"""

from __future__ import annotations

import numpy as np

from . import validation
from .equations import self_predicting_scale, self_predicting_weights
from .layers import State, Weights, apical_conductance
from .parameters import ModelParameters


class Network:
    r"""A dendritic cortical microcircuit of any depth.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_0, n_1, ..., n_N]``. Each hidden layer :math:`k` gets :math:`n_{k+1}` interneurons.
    params : ModelParameters, optional
        Shared with the caller (changes are seen at the next run); defaults to
        ``ModelParameters()``, whose values say where they come from (paper, SM? or ours).
    seed : int
        Seeds the network's own random generator (weights and noise); no global RNG is used.
        A non-negative integer (else ``ValueError``).
    self_predicting : bool
        Start in the analytical self-predicting state (lateral weights set by
        :func:`~core.model.equations.self_predicting_weights`) instead of random lateral weights.

    Attributes
    ----------
    weights : Weights
    state : State
    nudging : bool
        Whether the output receives its teaching current (target on). Can change at any time.
    rng : numpy.random.Generator
    """

    def __init__(self, layer_sizes, params=None, *, seed=0, self_predicting=False):
        self.sizes = validation.layer_sizes(layer_sizes)
        self.params = ModelParameters() if params is None else params
        if not isinstance(self.params, ModelParameters):
            raise ValueError(f"params must be a ModelParameters, got {type(params).__name__}")
        self.seed = validation.seed(seed)
        self.rng = np.random.default_rng(self.seed)
        self.nudging = False
        self.weights = random_weights(self.sizes, self.params, self.rng)
        if self_predicting:
            self.make_self_predicting()
        self.state = initial_state(self.sizes, self.weights, batch_size=1)

    # ---- structure ---------------------------------------------------------------------------
    @property
    def n_layers(self):
        """:math:`N`, the index of the output layer."""
        return len(self.sizes) - 1

    @property
    def hidden_layers(self):
        """Hidden layer numbers :math:`1..N-1`."""
        return range(1, self.n_layers)

    @property
    def batch_size(self):
        return self.state.r_input.shape[0]

    def __repr__(self):
        return (f"Network(layer_sizes={list(self.sizes)}, t={self.state.time:g} ms, "
                f"nudging={self.nudging})")

    # ---- initialisation ----------------------------------------------------------------------
    def make_self_predicting(self):
        """Set every hidden layer's lateral weights to the analytical self-predicting state.

        Raises
        ------
        ValueError
            For :math:`g_D = 0`, where no self-predicting state exists (the weights are left
            as they were).
        """
        for k in self.hidden_layers:
            self.weights.W_IP[k], self.weights.W_PI[k] = self.self_predicting_weights(k)
            if self.weights.b_IP:
                self.weights.b_IP[k] = self.self_predicting_scale(k) * self.weights.b_up[k + 1]

    def self_predicting_weights(self, k):
        """:math:`(W^{IP}_{k,k}, W^{PI}_{k,k})` of the self-predicting state of hidden layer ``k``
        for the current forward and top-down weights
        (:func:`~core.model.equations.self_predicting_weights`,
        with :math:`g_A' = 0` when layer ``k + 1`` is the output)."""
        p = self.params
        return self_predicting_weights(self.weights.W_up[k + 1], self.weights.W_down[k], p.g_lk,
                                       p.g_B, p.g_D, self._g_A_next(k))

    def self_predicting_scale(self, k):
        r"""The factor of :math:`W^{IP}_{k,k} = c\,W^{PP}_{k+1,k}` in the self-predicting state of
        hidden layer ``k`` (:func:`~core.model.equations.self_predicting_scale`).

        Raises
        ------
        ValueError
            For :math:`g_D = 0`, where no self-predicting state exists.
        """
        p = self.params
        return self_predicting_scale(p.g_lk, p.g_B, p.g_D, self._g_A_next(k))

    def _g_A_next(self, k):
        return apical_conductance(self.params.g_A, k + 1, self.n_layers)

    # ---- inputs --------------------------------------------------------------------------------
    def present(self, input_rates, target_potential=None):
        r"""Show a pattern: inputs and targets are approached through the :math:`\tau_0` low-pass.

        Parameters
        ----------
        input_rates : array_like, shape (n_0,) or (B, n_0)
            Input rates :math:`r_0`. A batch of B patterns is simulated in parallel with shared
            weights (plasticity averages over the batch).
        target_potential : array_like, shape (n_N,) or (B, n_N), optional
            Output target potentials :math:`u^\mathrm{trgt}_N`. Keeps the previous target when
            omitted; whether it acts depends on :attr:`nudging`.
        """
        inputs, target = validation.pattern(self.sizes, input_rates, target_potential)
        self._set_batch_size(inputs.shape[0])  # also resizes the kept target, if no new one
        self.state.input_pattern = inputs.copy()
        if target is not None:
            self.state.target_pattern = np.broadcast_to(
                target, (inputs.shape[0], self.sizes[-1])).copy()
        self.state.pattern_time = 0.0

    def _set_batch_size(self, batch_size):
        if batch_size == self.batch_size:
            return
        s = self.state

        def resize(a):
            return np.repeat(a[:1], batch_size, axis=0)

        s.u_P = {k: resize(u) for k, u in s.u_P.items()}
        s.u_I = {k: resize(u) for k, u in s.u_I.items()}
        s.r_input, s.u_target = resize(s.r_input), resize(s.u_target)
        s.input_pattern, s.target_pattern = resize(s.input_pattern), resize(s.target_pattern)

    def reset_state(self):
        """Zero all potentials, filters and traces and the clock; weights are kept."""
        self.state = initial_state(self.sizes, self.weights, self.batch_size)

    # ---- convenience wrappers around the simulators ------------------------------------------
    def run(self, n_steps, **kwargs):
        """Advance the full dynamics; see :func:`core.simulate.dynamics.run`."""
        from ..simulate.dynamics import run
        return run(self, n_steps, **kwargs)


def _uniform(rng, scale, shape):
    return rng.uniform(-scale, scale, size=shape)


def random_weights(sizes, params, rng):
    r"""Draw every weight matrix :math:`U(-s, s)` with the scale ``init_scale_*`` of its kind.

    The drawing order is fixed (bottom-up, top-down, W^IP, W^PI, thresholds, layer by layer) so a
    seed always gives the same network.
    """
    N = len(sizes) - 1
    w = Weights()
    for k in range(1, N + 1):
        w.W_up[k] = _uniform(rng, params.init_scale_PP_up, (sizes[k], sizes[k - 1]))
    for k in range(1, N):
        w.W_down[k] = _uniform(rng, params.init_scale_PP_down, (sizes[k], sizes[k + 1]))
        w.W_IP[k] = _uniform(rng, params.init_scale_IP, (sizes[k + 1], sizes[k]))
        w.W_PI[k] = _uniform(rng, params.init_scale_PI, (sizes[k], sizes[k + 1]))
    if params.use_bias:
        for k in range(1, N + 1):
            w.b_up[k] = _uniform(rng, params.init_scale_PP_up, (sizes[k],))
        for k in range(1, N):
            w.b_IP[k] = _uniform(rng, params.init_scale_IP, (sizes[k + 1],))
    return w


def initial_state(sizes, weights, batch_size=1):
    """All potentials, filters and traces at rest (0)."""
    N = len(sizes) - 1

    def zeros(n):
        return np.zeros((batch_size, n))

    return State(
        u_P={k: zeros(sizes[k]) for k in range(1, N + 1)},
        u_I={k: zeros(sizes[k + 1]) for k in range(1, N)},
        r_input=zeros(sizes[0]), u_target=zeros(sizes[N]),
        input_pattern=zeros(sizes[0]), target_pattern=zeros(sizes[N]),
        traces=weights.map(np.zeros_like),
    )
