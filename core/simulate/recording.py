"""What :func:`core.simulate.dynamics.run` can record, and the recordings it returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .compartments import mean_squared_apical

RECORDABLE = re.compile(r"^(u_P|u_I|v_B|v_A|v_I|v_TD|r_P|r_I)(\d+)$|^(u_target|r_input|apical_sq)$")


@dataclass
class Recording:
    """Quantities recorded during :func:`~core.simulate.dynamics.run`, sampled every
    ``record_every`` steps.

    Attributes
    ----------
    time : ndarray, shape (n_samples,)
        Simulated time (ms) at each sample (after the step).
    values : dict[str, ndarray]
        ``values[name]`` has shape ``(n_samples, B, n)`` for population quantities and
        ``(n_samples,)`` for ``"apical_sq"``.
    """

    time: np.ndarray
    values: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.values[name]

    @staticmethod
    def concatenate(recordings):
        """Join recordings of consecutive runs into one."""
        recordings = [r for r in recordings if len(r.time)]
        if not recordings:
            return Recording(time=np.zeros(0))
        names = recordings[0].values
        return Recording(time=np.concatenate([r.time for r in recordings]),
                         values={n: np.concatenate([r.values[n] for r in recordings]) for n in names})


def check_recordable(names, sizes):
    """Validate names like ``"v_A1"``, ``"u_P2"``, ``"u_target"``, ``"apical_sq"`` for a network."""
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise ValueError(f"record must be a list of names such as ['v_A1', 'apical_sq'], got "
                         f"{names!r}")
    N = len(sizes) - 1
    layers = {"u_P": range(1, N + 1), "v_B": range(1, N + 1), "r_P": range(0, N + 1),
              "u_I": range(1, N), "v_A": range(1, N), "v_I": range(1, N), "v_TD": range(1, N),
              "r_I": range(1, N)}
    for name in names:
        match = RECORDABLE.match(name) if isinstance(name, str) else None
        if match is None or (match.group(1) and int(match.group(2)) not in layers[match.group(1)]):
            raise ValueError(
                f"record: {name!r} is not recordable in a network with layers 0..{N}; use "
                "u_P<k>, v_B<k>, r_P<k> (k=1..N), u_I<k>, v_A<k>, v_I<k>, v_TD<k>, r_I<k> "
                "(hidden k), u_target, r_input or apical_sq")
    return tuple(names)


def sample(net, comp, name):
    """A copy of quantity ``name`` of ``net`` now (``comp``: its compartments)."""
    if name == "apical_sq":
        return mean_squared_apical(comp)
    if name == "u_target":
        return net.state.u_target.copy()
    if name == "r_input":
        return net.state.r_input.copy()
    match = RECORDABLE.match(name)
    return getattr(comp, match.group(1))[int(match.group(2))].copy()
