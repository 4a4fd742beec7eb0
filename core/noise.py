r"""Standard normal numbers from a generator's raw 64-bit output, one word per number.

The Euler-Maruyama noise :math:`\xi` of :mod:`core.dynamics` needs about 70 normal numbers per
step for the Fig. 2 network. NumPy's ``standard_normal`` costs ~11 ns each (a fifth of a compiled
step), so the simulator instead takes the network generator's raw words
(``rng.bit_generator.random_raw``, ~3 ns each) and turns each word into one normal number with
:func:`standard_normals`. The compiled kernel applies the same formula inside its loop
(:func:`core._kernel._normals_from_bits`) and, for NumPy's default generator (PCG64), also draws
the words there with its own copy of PCG64's step (:func:`core._kernel._pcg64_words`), so both
back ends see the same numbers, in the same order, from the same generator state, and leave the
generator in the same state; saving and loading the generator's state continues the stream
exactly.

The transform, for a word :math:`z` (bits 12-63 and bit 0 used):

* :math:`p = (\lfloor z / 2^{12} \rfloor + \tfrac12)\, 2^{-53}`, uniform on 2^52 points of
  :math:`(0, \tfrac12)`;
* :math:`x = \Phi^{-1}(p) \le 0` by Acklam's rational approximation (relative error below
  1.2e-9 everywhere; the tail :math:`p < 0.02425` goes through :math:`\sqrt{-2\ln p}`);
* the sign of :math:`x` flips when bit 0 of :math:`z` is set.

No rejection step: every word gives one number, so the stream position advances by exactly the
number of normals drawn, which keeps the dynamics independent of how a run is cut into blocks.
The largest magnitude reachable is 8.3 (:math:`p = 2^{-54}`); values beyond it have probability
1e-16 per draw. The approximation's quantile error (< 1e-8 absolute) is far below anything a
simulation of this model can resolve.
"""

from __future__ import annotations

import numpy as np

CENTRAL_NUMERATOR = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                     1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
CENTRAL_DENOMINATOR = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                       6.680131188771972e+01, -1.328068155288572e+01)
TAIL_NUMERATOR = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                  -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
TAIL_DENOMINATOR = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                    3.754408661907416e+00)
TAIL_BELOW = 0.02425
"""Below this probability the tail formula applies (Acklam's break point)."""
HALF_ULP = 2.0 ** -53


def lower_half_probability(bits):
    """:math:`p \\in (0, 1/2)` from bits 12-63 of each word (uint64 array)."""
    return ((bits >> np.uint64(12)).astype(np.float64) + 0.5) * HALF_ULP


def inverse_normal_lower(p):
    r""":math:`\Phi^{-1}(p)` for :math:`0 < p \le 1/2` (Acklam; relative error < 1.2e-9).

    Evaluated in the order the compiled kernel uses, so both give the same rounding (up to the
    logarithm of the tail, where NumPy's and the C library's may differ by an ulp).
    """
    a, b = CENTRAL_NUMERATOR, CENTRAL_DENOMINATOR
    q = p - 0.5
    r = q * q
    central = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
               / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0))
    tail = p < TAIL_BELOW
    if np.any(tail):
        c, d = TAIL_NUMERATOR, TAIL_DENOMINATOR
        t = np.sqrt(-2.0 * np.log(p[tail]))
        central[tail] = ((((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5])
                         / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0))
    return central


def standard_normals(bits):
    """One standard normal number per 64-bit word (any shape), as described above."""
    bits = np.asarray(bits, dtype=np.uint64)
    x = inverse_normal_lower(np.atleast_1d(lower_half_probability(bits)))
    x = np.where((bits & np.uint64(1)).astype(bool).reshape(x.shape), -x, x)
    return x.reshape(bits.shape)


def raw_words(source, shape):
    """The raw words of ``shape``: ``source`` itself when it is an array of them (checked against
    ``shape``), else drawn from ``source``, a ``numpy.random.BitGenerator``."""
    if isinstance(source, np.random.BitGenerator):
        return source.random_raw(shape)
    words = np.asarray(source)
    if words.shape != tuple(shape):
        raise ValueError(f"noise has shape {words.shape}; expected {tuple(shape)}")
    return words


def draw(rng, shape):
    """``shape`` standard normal numbers from ``rng``: the words the simulator would take next."""
    return standard_normals(rng.bit_generator.random_raw(shape))
