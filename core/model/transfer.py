r"""Transfer (rate) functions :math:`\varphi`, their derivatives and inverses.

All are vectorized, overflow-safe and exact to machine precision over the whole real line, so that
targets given as rates can be turned into potentials (:math:`u = \varphi^{-1}(r)`) and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, NamedTuple

import numpy as np


def soft_rectifier(u, gamma=0.1, beta=1.0, theta=3.0, out=None):
    r"""Soft rectifier (softplus) rate function used for regression (Fig. 2).

    .. math:: \varphi(u) = \gamma \log\left(1 + e^{\beta (u - \theta)}\right)

    Computed as :math:`\gamma\,\mathrm{logaddexp}(0, \beta(u-\theta))`, which never overflows.

    Parameters
    ----------
    u : float or ndarray
        Somatic (or dendritic) potential.
    gamma, beta, theta : float
        Scale :math:`\gamma`, slope :math:`\beta` and threshold :math:`\theta`.
    out : ndarray, optional
        Where to write the rates (as in NumPy), e.g. an array whose views the simulator reads
        layer by layer; the same numbers either way.

    Returns
    -------
    float or ndarray
        Rate :math:`\varphi(u) > 0`.
    """
    # one operation after the other, each into ``out`` when given: then no temporary array (and
    # no branch on ``out``, whose untaken side numba would compile all the same)
    drive = np.subtract(u, theta, out)
    if beta != 1.0:  # the paper's slope is 1, by which a product would change no bit
        drive = np.multiply(beta, drive, out)
    return np.multiply(gamma, np.logaddexp(0.0, drive, out), out)


def soft_rectifier_derivative(u, gamma=0.1, beta=1.0, theta=3.0):
    r"""Derivative :math:`\varphi'(u) = \gamma \beta / (1 + e^{-\beta (u - \theta)})`."""
    return gamma * beta * logistic(beta * (np.asarray(u, dtype=float) - theta))


def soft_rectifier_inverse(rate, gamma=0.1, beta=1.0, theta=3.0):
    r"""Inverse soft rectifier: the potential whose rate is ``rate``.

    .. math:: \varphi^{-1}(r) = \theta + \frac{1}{\beta}\log\left(e^{r/\gamma} - 1\right)

    Evaluated as :math:`y + \log(-\mathrm{expm1}(-y))` with :math:`y = r/\gamma` so that neither
    large nor tiny rates lose precision.

    Raises
    ------
    ValueError
        If any rate is not strictly positive and finite (the soft rectifier never reaches 0), or
        so large that its potential would overflow the floating-point range.
    """
    rate = _rates("soft_rectifier_inverse", rate)
    if not np.all(np.isfinite(rate) & (rate > 0)):
        bad = rate[~(np.isfinite(rate) & (rate > 0))].flat[0]
        raise ValueError(f"soft_rectifier_inverse: rate must be finite and > 0, got {bad!r}")
    with np.errstate(over="ignore"):
        y = rate / gamma
        potential = theta + (y + np.log(-np.expm1(-y))) / beta
    if not np.all(np.isfinite(potential)):
        bad = float(rate[~np.isfinite(potential)].flat[0])
        raise ValueError(f"soft_rectifier_inverse: rate {bad!r} is too large for gamma={gamma}, "
                         f"beta={beta}: its potential exceeds the floating-point range")
    return potential


def _rates(function, rate):
    try:
        return np.asarray(rate, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{function}: rate must be an array of numbers, got {rate!r}") from None


def logistic(u, out=None):
    r"""Logistic rate function used for classification (Fig. 3).

    .. math:: \varphi(u) = \frac{1}{1 + e^{-u}}
              = \frac{1 \text{ if } u \ge 0 \text{ else } e^{-|u|}}{1 + e^{-|u|}}

    The second form never overflows (its one exponent is never positive) and keeps full relative
    precision far out in the tail, where :math:`\tfrac12(1 + \tanh(u/2))` cancels to 0. Its
    numerator is ``max(e^{-|u|}, u >= 0)``: 1 where ``u >= 0`` (as :math:`e^{-|u|} \le 1`), else
    :math:`e^{-|u|}`. ``out`` as in :func:`soft_rectifier`.
    """
    decay = np.exp(-np.abs(u))
    return np.divide(np.maximum(decay, u >= 0), 1.0 + decay, out)


def logistic_derivative(u):
    r"""Derivative :math:`\varphi'(u) = \varphi(u)\,(1 - \varphi(u))`."""
    r = logistic(u)
    return r * (1.0 - r)


def logistic_inverse(rate):
    r"""Inverse logistic (logit): :math:`\varphi^{-1}(r) = \log\frac{r}{1 - r}`.

    Raises
    ------
    ValueError
        If any rate lies outside the open interval (0, 1).
    """
    rate = _rates("logistic_inverse", rate)
    ok = np.isfinite(rate) & (rate > 0) & (rate < 1)
    if not np.all(ok):
        raise ValueError(f"logistic_inverse: rate must lie in (0, 1), got {rate[~ok].flat[0]!r}")
    return np.log(rate) - np.log1p(-rate)


SOFT_RECTIFIER, LOGISTIC = 0, 1
"""The rate functions :class:`Phi` knows (its ``kind``)."""


class Phi(NamedTuple):
    r"""The rate function :math:`\varphi` of a model: which one (``kind``) and its shape.

    Call it, ``phi(u)``, or pass it to :func:`rate`: the equation functions take it as their
    ``phi`` argument. A named tuple of numbers, so that the compiled simulator can take it too
    (it cannot take a Python function with bound parameters).
    """

    kind: int
    """:data:`SOFT_RECTIFIER` or :data:`LOGISTIC`."""
    gamma: float = 0.1
    beta: float = 1.0
    theta: float = 3.0

    def __call__(self, u):
        return rate(np.asarray(u, dtype=float), self)


def rate(u, phi, out=None):
    r""":math:`\varphi(u)` for the rate function described by ``phi`` (a :class:`Phi`); ``out`` as
    in :func:`soft_rectifier`."""
    if phi.kind == LOGISTIC:
        return logistic(u, out)
    return soft_rectifier(u, phi.gamma, phi.beta, phi.theta, out)


@dataclass(frozen=True)
class TransferFunction:
    """A rate function bundled with its derivative and inverse, parameters bound."""

    name: str
    phi: Phi
    derivative: Callable
    inverse: Callable


def transfer_function(params) -> TransferFunction:
    """The :class:`TransferFunction` selected by a :class:`~core.model.parameters.ModelParameters`."""
    if params.transfer == "logistic":
        return TransferFunction("logistic", Phi(LOGISTIC), logistic_derivative,
                                logistic_inverse)
    shape = dict(gamma=params.gamma, beta=params.beta, theta=params.theta)
    return TransferFunction(
        "soft_rectifier",
        Phi(SOFT_RECTIFIER, **shape),
        partial(soft_rectifier_derivative, **shape),
        partial(soft_rectifier_inverse, **shape),
    )
