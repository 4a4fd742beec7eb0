"""What a simulator reads from a network's parameters, built once per parameter revision.

Both simulators (:mod:`core.simulate.dynamics`, :mod:`core.simulate.steady_state`) read the
parameters through :func:`model_context`. It is kept here, for each network, while the parameters
are unchanged; the network itself holds no cache.
"""

from __future__ import annotations

import functools
import weakref
from types import SimpleNamespace

from .plasticity import learning_rates
from ..model.transfer import transfer_function

_contexts = weakref.WeakKeyDictionary()
"""network -> ((parameters, revision, depth), context)"""


def model_context(net):
    """What does not change while the parameters do not: their values as plain attributes
    (``p``), the rate function (``phi``) and the per-layer learning rates (``rates``).

    Reused while the parameters are unchanged (their ``revision``): reading a parameter through
    param is slow next to a plain attribute, and building this reads every one, which would cost
    more than a short block of steps (the dashboard runs many) and a noticeable part of a
    steady-state mini-batch (benchmarks/README.md, "Design figures").
    """
    params = net.params
    key = (params, params.revision, net.n_layers)
    cached = _contexts.get(net)
    if cached is not None and cached[0] == key:
        return cached[1]
    ctx = _ModelContext(params, net.n_layers)
    _contexts[net] = (key, ctx)
    return ctx


class _ModelContext:
    def __init__(self, params, n_layers):
        self.p = SimpleNamespace(**params.values())
        self.phi = transfer_function(params)
        self._rates_of = (params, n_layers)
        self._for_step = {}

    @functools.cached_property
    def rates(self):
        # on first use: a settled state needs no learning rates, and a rate list that does not
        # fit the network only matters (and raises) when something learns
        return learning_rates(*self._rates_of)

    def for_step(self, what, *key):
        """``what(self, *key)`` computed once per parameter revision (e.g. the constants of the
        Euler step, :mod:`core.simulate.dynamics`: a block of the dashboard is short, and building
        them
        costs ~60 us, as much as several steps)."""
        cached = self._for_step.get((what, key))
        if cached is None:
            cached = self._for_step[(what, key)] = what(self, *key)
        return cached
