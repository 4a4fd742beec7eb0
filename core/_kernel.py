r"""Compiled Euler-Maruyama kernel: the trajectory of :func:`core.dynamics._advance_numpy`, fast.

:func:`advance_compiled` hands the network's arrays to numba, which runs every step of a block
without returning to Python. Each step evaluates the reference's expressions on the state at time
:math:`t` (explicit Euler), in the reference's order wherever the order decides the rounding, so
both back ends follow the same trajectory up to round-off (~1e-15 relative per step). Round-off
differs in four places only:

* sums inside matrix products run in another order (NumPy's BLAS has an order of its own);
* in the loops over weights and somata a product and a sum may be one fused multiply-add,
  rounded once (:data:`_FUSED`);
* the rate functions use the vectorisable :func:`_exp_nonpositive` and a log1p in two halves
  (:func:`_log1p_reduced`, :func:`_log1p_series`), each within 2 ulp, instead of the C library,
  whose calls the compiler cannot vectorise;
* the logistic is :math:`1/(1+e^{-u})` rather than NumPy's :math:`\tfrac12(1+\tanh(u/2))`
  (they differ by at most one rounding of the result).

Working layout
--------------
:func:`advance_compiled` copies the network into working buffers, :func:`_simulate` adds the
scratch buffers and :func:`_steps` runs the steps on them (without numba's reference counting, see
:data:`_UNCOUNTED`), and the results are written back into the network's own arrays, so callers
see the same array objects updated in place. No argument of :func:`_simulate` depends on the depth
(no per-layer tuples), so it is compiled once -- ~30 s, then loaded from numba's on-disk cache --
for every network.

* Populations are numbered 0 (the input), ``k`` (pyramids of layer ``k``) and ``N + k``
  (interneurons of hidden layer ``k``). Every per-neuron quantity lives in one flat vector with a
  segment per population, batch-major, each row padded with zeros to a multiple of :data:`PAD`:
  sample ``s``, neuron ``i`` of population ``p`` sits at ``offset[p] + s * width[p] + i``. The
  rate function, prediction errors and Euler update are then single vector loops over all
  populations, and the segments of the somata follow the order of the noise draws.
* Every matrix is stored with its larger dimension along contiguous, zero-padded rows: with
  presynaptic rows (``M[j, i] = W[i, j]``) when it has at least as many postsynaptic as
  presynaptic neurons, with postsynaptic rows otherwise. Plasticity then updates long rows with
  ``a[r] * b`` (no reduction, vectorised while keeping IEEE semantics, ``fastmath=False``); the
  forward pass is an unrolled ``out += pre[j] * M[j]`` or, for postsynaptic rows, dot products
  with independent chains of additions. The padding stays zero (its factor is zero) and is never
  copied back.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from . import noise as _noise
from .equations import basal_attenuation, interneuron_attenuation
from .layers import apical_conductance

SOFT_RECTIFIER, LOGISTIC = 0, 1
"""Codes of the rate functions inside the kernel."""

UP, DOWN, IP, PI = 0, 1, 2, 3
"""Codes of the matrix kinds: W_up (Eq. 3), W_down, W_PI (Eq. 4) and W_IP (Eq. 5)."""

PAD = 8
"""Rows of the working buffers are padded to a multiple of this: the compiler's vector loops
handle 8 doubles per iteration (two AVX2 registers), so padded rows never reach the slower
scalar remainder."""

_NUMERIC = dict(cache=True, error_model="numpy", fastmath=False)
_UNCOUNTED = dict(_NUMERIC, _nrt=False)
"""Options of the functions that run inside the step loop: without numba's runtime (NRT), which
would count references to every array view (a slice, a row) with an atomic increment and
decrement, ~180 per step of the Fig. 2 network. These functions allocate nothing; the arrays
they work on are allocated by :func:`_simulate`, which keeps them alive for the whole call."""

_FUSED = dict(_UNCOUNTED, fastmath={"contract"})
"""Options of the loops over weights and somata: as :data:`_UNCOUNTED`, and a product followed by
a sum may become one fused multiply-add (rounded once instead of twice)."""

_LOW_64 = (1 << 64) - 1
_EXP_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer in the low bits
_INV_LN2 = 1.4426950408889634
_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")  # trailing zeros make n * _LN2_HI exact
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
_ONE_BITS = 0x3FF0000000000000
_EXP_FLOOR = -708.0  # below it 2**n would be subnormal; exp < 3.3e-308 is returned as 0
_LN2 = math.log(2.0)
_SQRT2_MINUS_1 = math.sqrt(2.0) - 1.0

# Polynomial coefficients fitted by Chebyshev interpolation in 50-digit arithmetic (mpmath) and
# rounded to double; the error bounds quoted below include that rounding.
_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9 = (float.fromhex(c) for c in (
    "0x1.0000000000001p-1", "0x1.5555555555556p-3", "0x1.5555555553d68p-5",
    "0x1.11111111109b5p-7", "0x1.6c16c17889f40p-10", "0x1.a01a01a7c2f2ep-13",
    "0x1.a019b9148739fp-16", "0x1.71de0db2eafc6p-19", "0x1.28917ca046b86p-22",
    "0x1.af389eeb9e5e9p-26"))
_A0, _A1, _A2, _A3, _A4, _A5, _A6 = (float.fromhex(c) for c in (
    "0x1.5555555555558p-1", "0x1.99999999952e2p-2", "0x1.2492492df14f1p-2",
    "0x1.c71c62e5780fep-3", "0x1.7462b4ad742c4p-3", "0x1.39fe6019cb90bp-3",
    "0x1.2b584e53437ccp-3"))


# ------------------------------------------------------------------------------------------------
# Rate functions. The C library's exp and log1p are opaque calls: they block vectorisation and
# cost ~20 ns per soft rectifier. These branch-free versions vectorise and stay within 2 ulp.
# ------------------------------------------------------------------------------------------------

@njit(**_UNCOUNTED)
def _exp_nonpositive(z):
    r"""``exp(z)`` for ``z <= 0`` within 2 ulp (0 below -708, where exp < 3.3e-308; NaN stays NaN).

    Cody-Waite reduction :math:`z = n \ln 2 + r`, :math:`|r| \le \ln 2 / 2`, then
    :math:`e^r \approx 1 + r + r^2 P(r)` with a degree-9 :math:`P` (relative error 1.6e-17),
    evaluated with Estrin's scheme for a short dependency chain; :math:`2^n` is assembled from
    its bits.
    """
    tiny = z < _EXP_FLOOR
    zc = _EXP_FLOOR if tiny else z
    kd = zc * _INV_LN2 + _EXP_SHIFT
    bits = np.float64(kd).view(np.int64)
    kd = kd - _EXP_SHIFT
    r = (zc - kd * _LN2_HI) - kd * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    poly = (((_E0 + _E1 * r) + (_E2 + _E3 * r) * r2)
            + (((_E4 + _E5 * r) + (_E6 + _E7 * r) * r2) + (_E8 + _E9 * r) * r4) * r4)
    scale = np.int64((bits << 52) + _ONE_BITS).view(np.float64)
    return 0.0 if tiny else (1.0 + (r + r2 * poly)) * scale


@njit(**_UNCOUNTED)
def _log1p_reduced(t):
    r"""First half of ``log1p(t)`` for ``0 <= t <= 1``: ``s`` and what :func:`_log1p_series`
    adds at the end (``ln 2`` or 0). ``_log1p_series(*_log1p_reduced(t))`` is within 2 ulp.

    Above :math:`\sqrt2 - 1` it uses :math:`\log(1+t) = \ln 2 + \log(1 + (t-1)/2)`; then
    :math:`\log(1+u) = 2\,\mathrm{atanh}(s) = 2s + s z Q(z)` with :math:`s = u/(2+u)`,
    :math:`z = s^2 \le 0.0295` and a degree-6 :math:`Q` (relative error of the result 5e-18).
    The halves are separate so that loops over neurons can run them one after the other (see
    :func:`_rates_reduced`).
    """
    high = t > _SQRT2_MINUS_1
    u = (t - 1.0) * 0.5 if high else t
    return u / (2.0 + u), _LN2 if high else 0.0


@njit(**_UNCOUNTED)
def _log1p_series(s, carry):
    """Second half of ``log1p`` (:func:`_log1p_reduced`). The carry is 0 only for
    ``t <= sqrt(2) - 1``, where the series is >= 0, so adding it changes nothing."""
    z = s * s
    z2 = z * z
    q = ((_A0 + _A1 * z) + (_A2 + _A3 * z) * z2) + ((_A4 + _A5 * z) + _A6 * z2) * (z2 * z2)
    return (s * 2.0 + s * (z * q)) + carry


# The rate functions, as core.transfer computes them: the soft rectifier gamma * logaddexp(0, x),
# x = beta (u - theta), as max(x, 0) + log1p(e^{-|x|}) like NumPy, and the logistic as
# 1 / (1 + e^{-u}) with e^{-|u|}, which never overflows. Each in three stages: e^{-|x|}
# (_rate_decay), the reduction of the soft rectifier's log1p with its division (_rates_reduced),
# the rest (_rate_finish). Loops over neurons run each stage for all neurons before the next: one
# neuron's chain of dependent operations (~115 cycles in one loop) is cut in three, so more
# neurons fit in the processor's window of ~256 instructions in flight, which is what bounds
# these loops (88 soft rectifiers, microbenchmark: ~500 ns in one loop, ~390 ns in two, ~360 ns
# in three; results bit for bit the same). Branches on ``kind`` are loop-invariant: the compiler
# hoists them out of the loops.

@njit(**_UNCOUNTED)
def _rate_decay(u, kind, beta, theta):
    r"""First stage of a rate: :math:`e^{-|x|}` with :math:`x = \beta(u-\theta)` (soft
    rectifier) or :math:`x = u` (logistic)."""
    x = beta * (u - theta) if kind == SOFT_RECTIFIER else u
    return _exp_nonpositive(-x if x > 0.0 else x)


@njit(**_UNCOUNTED)
def _rates_reduced(decay, carry, kind):
    """Second stage, in place over all neurons: ``decay`` becomes the soft rectifier's
    :func:`_log1p_reduced` ``s`` and ``carry`` its carry (nothing to do for the logistic)."""
    if kind == SOFT_RECTIFIER:
        for e in range(decay.shape[0]):
            decay[e], carry[e] = _log1p_reduced(decay[e])


@njit(**_UNCOUNTED)
def _rate_finish(u, reduced, carry, kind, gamma, beta, theta):
    """Last stage of the rate of ``u``, from the first two (for the logistic, ``reduced`` is
    :func:`_rate_decay` and ``carry`` is unused)."""
    if kind == SOFT_RECTIFIER:
        x = beta * (u - theta)
        # Selects, not branches, keep loops over neurons vectorisable; for x <= 0 the sum is
        # 0 + log1p(e^x), exactly what NumPy adds up.
        positive = x if x > 0.0 else 0.0
        return gamma * (positive + _log1p_series(reduced, carry))
    return (1.0 if u > 0.0 else reduced) / (1.0 + reduced)


# ------------------------------------------------------------------------------------------------
# Noise words: NumPy's PCG64 inside the loop. Drawing a block's words in NumPy (random_raw) cost
# ~4.5 ns a word through a call per word, and the block of words (1 MB for 2000 steps of the
# Fig. 2 network) did not fit in any cache; here each step draws its ~70 words as it needs them.
# ------------------------------------------------------------------------------------------------

PCG64_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
"""The multiplier of NumPy's PCG64 (``PCG_DEFAULT_MULTIPLIER_128``)."""
_TWO_STEPS = PCG64_MULTIPLIER ** 2 % 2**128
"""The multiplier of two steps at once: ``s_{n+2} = _TWO_STEPS s_n + (M + 1) c`` mod 2**128."""
# ... as the 64-bit halves the compiled code takes (numba has no integers wider than 64 bits)
_M_HI, _M_LO = PCG64_MULTIPLIER >> 64, PCG64_MULTIPLIER & _LOW_64
_M2_HI, _M2_LO = _TWO_STEPS >> 64, _TWO_STEPS & _LOW_64


@intrinsic
def _lcg128(typingctx, state_hi, state_lo, multiplier_hi, multiplier_lo, increment_hi,
            increment_lo):
    """``state * multiplier + increment`` modulo 2**128, each 128-bit number as (high, low)
    64-bit halves: numba has no 128-bit integers, LLVM does (three multiplications)."""
    arguments = (state_hi, state_lo, multiplier_hi, multiplier_lo, increment_hi, increment_lo)
    if not all(t == types.uint64 for t in arguments):
        return None
    signature = types.UniTuple(types.uint64, 2)(*arguments)

    def codegen(context, builder, sig, args):
        wide, narrow = ir.IntType(128), ir.IntType(64)
        half = ir.Constant(wide, 64)

        def join(hi, lo):
            return builder.or_(builder.shl(builder.zext(hi, wide), half), builder.zext(lo, wide))

        state = builder.add(builder.mul(join(args[0], args[1]), join(args[2], args[3])),
                            join(args[4], args[5]))
        hi = builder.trunc(builder.lshr(state, half), narrow)
        return context.make_tuple(builder, sig.return_type, [hi, builder.trunc(state, narrow)])

    return signature, codegen


@njit(**_UNCOUNTED)
def _xsl_rr(hi, lo):
    """PCG64's output of a state: the XOR of its halves rotated right by its top 6 bits."""
    folded = hi ^ lo
    rotation = hi >> np.uint64(58)
    return (folded >> rotation) | (folded << ((np.uint64(64) - rotation) & np.uint64(63)))


@njit(**_UNCOUNTED)
def _pcg64_words(generator, out):
    """Fill ``out`` with the next words of NumPy's ``PCG64`` (``random_raw``: step the LCG,
    output the new state), whose state advances in place in ``generator`` = halves (high, low)
    of the state, the increment ``c`` and ``(M + 1) c`` (:func:`_pcg64_state`).

    Two states advance side by side, the even and the odd steps, each by two steps at a time:
    two independent chains of multiplications instead of one (the LCG's latency bounds it).
    """
    n = out.shape[0]
    if n == 0:
        return
    m_hi, m_lo = np.uint64(_M_HI), np.uint64(_M_LO)
    m2_hi, m2_lo = np.uint64(_M2_HI), np.uint64(_M2_LO)
    c_hi, c_lo, c2_hi, c2_lo = generator[2], generator[3], generator[4], generator[5]
    a_hi, a_lo = _lcg128(generator[0], generator[1], m_hi, m_lo, c_hi, c_lo)
    b_hi, b_lo = _lcg128(a_hi, a_lo, m_hi, m_lo, c_hi, c_lo)
    last_hi, last_lo = a_hi, a_lo
    i = 0
    while i + 2 <= n:
        out[i] = _xsl_rr(a_hi, a_lo)
        out[i + 1] = _xsl_rr(b_hi, b_lo)
        last_hi, last_lo = b_hi, b_lo
        a_hi, a_lo = _lcg128(a_hi, a_lo, m2_hi, m2_lo, c2_hi, c2_lo)
        b_hi, b_lo = _lcg128(b_hi, b_lo, m2_hi, m2_lo, c2_hi, c2_lo)
        i += 2
    if i < n:
        out[i] = _xsl_rr(a_hi, a_lo)
        last_hi, last_lo = a_hi, a_lo
    generator[0], generator[1] = last_hi, last_lo


# ------------------------------------------------------------------------------------------------
# Noise: core.noise's transform of the generator's raw words, in the same order of operations
# ------------------------------------------------------------------------------------------------
_N0, _N1, _N2, _N3, _N4, _N5 = _noise.CENTRAL_NUMERATOR
_M0, _M1, _M2, _M3, _M4 = _noise.CENTRAL_DENOMINATOR
_T0, _T1, _T2, _T3, _T4, _T5 = _noise.TAIL_NUMERATOR
_U0, _U1, _U2, _U3 = _noise.TAIL_DENOMINATOR
_TAIL_BELOW = _noise.TAIL_BELOW
_QUARTER_ULP = 2.0 ** -54


@njit(**_UNCOUNTED)
def _normals_from_bits(bits, out, probability):
    """``out[i]`` = :func:`core.noise.standard_normals` of ``bits[i]`` (``probability``: scratch
    of the same length). The central formula runs for every word in a loop without branches,
    which the compiler vectorises; the few words in the tail (p < 0.02425) are redone after."""
    for i in range(bits.shape[0]):
        z = bits[i]
        # (k + 1/2) 2^-53 with k = z >> 12, exactly: 1 + k 2^-52 from its bits (no conversion
        # from integers, which AVX2 lacks for 64 bits), then (d - 1) / 2 + 2^-54
        d = np.uint64((z >> np.uint64(12)) | np.uint64(_ONE_BITS)).view(np.float64)
        p = (d - 1.0) * 0.5 + _QUARTER_ULP
        q = p - 0.5
        r = q * q
        x = (((((((_N0 * r + _N1) * r + _N2) * r + _N3) * r + _N4) * r + _N5) * q)
             / (((((_M0 * r + _M1) * r + _M2) * r + _M3) * r + _M4) * r + 1.0))
        out[i] = -x if z & np.uint64(1) else x
        probability[i] = p
    for i in range(bits.shape[0]):
        p = probability[i]
        if p < _TAIL_BELOW:
            t = math.sqrt(-2.0 * math.log(p))
            x = ((((((_T0 * t + _T1) * t + _T2) * t + _T3) * t + _T4) * t + _T5)
                 / ((((_U0 * t + _U1) * t + _U2) * t + _U3) * t + 1.0))
            out[i] = -x if bits[i] & np.uint64(1) else x


# ------------------------------------------------------------------------------------------------
# Loops over every neuron. Helpers index views with bare loop counters: with an offset index
# numba's wraparound for negative indices stays in the loop and blocks vectorisation. Branches on
# the rate function sit outside the loops for the same reason, and phi is evaluated before a
# mask is applied (a conditional call would become a branch around the whole computation).
# ------------------------------------------------------------------------------------------------

@njit(**_UNCOUNTED)
def _rates(u, mask, out, decay, carry, kind, gamma, beta, theta):
    """``out = phi(u)`` where ``mask``, else 0 (``decay``, ``carry``: scratch)."""
    for e in range(u.shape[0]):
        decay[e] = _rate_decay(u[e], kind, beta, theta)
    _rates_reduced(decay, carry, kind)
    for e in range(u.shape[0]):
        y = _rate_finish(u[e], decay[e], carry[e], kind, gamma, beta, theta)
        out[e] = y if mask[e] else 0.0


@njit(**_UNCOUNTED)
def _prediction_errors(rate, potential, attenuation, mask, out, argument, decay, carry, kind,
                       gamma, beta, theta):
    r"""``out = rate - phi(attenuation * potential)`` where ``mask``, else 0: the postsynaptic
    factor of Eqs. 7, 8 and 10 (``attenuation`` per neuron, 1 for Eq. 10; ``argument``,
    ``decay`` and ``carry``: scratch)."""
    for e in range(rate.shape[0]):
        x = attenuation[e] * potential[e]
        argument[e] = x
        decay[e] = _rate_decay(x, kind, beta, theta)
    _rates_reduced(decay, carry, kind)
    for e in range(rate.shape[0]):
        error = rate[e] - _rate_finish(argument[e], decay[e], carry[e], kind, gamma, beta, theta)
        out[e] = error if mask[e] else 0.0


@njit(**_FUSED)
def _somata(u, v, second, g_first, g_second, xi, noise_scale, mask, rate, decay, carry, dt, g_lk,
            kind, gamma, beta, theta):
    r"""Euler-Maruyama step of every soma, then its rate for the next step.

    ``u += dt * ((-g_lk u + g_first (v - u)) + g_second (second - u))`` is each of
    :mod:`core.equations`' drifts term for term: hidden pyramids (``g_B``, basal; ``g_A``, apical),
    output pyramids (``g_B``; ``g_som`` towards the target while nudging, else 0, which adds an
    exact zero) and interneurons (``g_D``, dendrite; ``g_som`` towards the next layer). The noise
    ``noise_scale * xi`` is then added separately, as the reference does (``xi`` is zero without
    noise and in the padding). ``decay``, ``carry``: scratch.
    """
    for e in range(u.shape[0]):
        x = u[e]
        y = x + dt * ((-g_lk * x + g_first[e] * (v[e] - x)) + g_second[e] * (second[e] - x))
        y = y + noise_scale * xi[e]
        u[e] = y
        decay[e] = _rate_decay(y, kind, beta, theta)
    _rates_reduced(decay, carry, kind)
    for e in range(u.shape[0]):
        r = _rate_finish(u[e], decay[e], carry[e], kind, gamma, beta, theta)
        rate[e] = r if mask[e] else 0.0


# ------------------------------------------------------------------------------------------------
# Matrices in the working layout
# ------------------------------------------------------------------------------------------------

@njit(**_FUSED)
def _forward_axpy(matrix, rows, length, pre, out):
    r"""``out[:length] = sum_j pre[j] * matrix[j]`` for a matrix stored with presynaptic rows: a
    dendritic potential, padding included.

    Rows are added eight (then four, two, one) at a time per pass over ``out``: this divides the
    loads and stores of ``out`` and shortens the dependency through them, which bounds short rows.
    """
    for i in range(length):
        out[i] = 0.0
    j = 0
    while j + 8 <= rows:
        w0 = matrix[j]
        w1 = matrix[j + 1]
        w2 = matrix[j + 2]
        w3 = matrix[j + 3]
        w4 = matrix[j + 4]
        w5 = matrix[j + 5]
        w6 = matrix[j + 6]
        w7 = matrix[j + 7]
        r0 = pre[j]
        r1 = pre[j + 1]
        r2 = pre[j + 2]
        r3 = pre[j + 3]
        r4 = pre[j + 4]
        r5 = pre[j + 5]
        r6 = pre[j + 6]
        r7 = pre[j + 7]
        for i in range(length):
            out[i] += (((w0[i] * r0 + w1[i] * r1) + (w2[i] * r2 + w3[i] * r3))
                       + ((w4[i] * r4 + w5[i] * r5) + (w6[i] * r6 + w7[i] * r7)))
        j += 8
    if j + 4 <= rows:
        w0 = matrix[j]
        w1 = matrix[j + 1]
        w2 = matrix[j + 2]
        w3 = matrix[j + 3]
        r0 = pre[j]
        r1 = pre[j + 1]
        r2 = pre[j + 2]
        r3 = pre[j + 3]
        for i in range(length):
            out[i] += (w0[i] * r0 + w1[i] * r1) + (w2[i] * r2 + w3[i] * r3)
        j += 4
    if j + 2 <= rows:
        w0 = matrix[j]
        w1 = matrix[j + 1]
        r0 = pre[j]
        r1 = pre[j + 1]
        for i in range(length):
            out[i] += w0[i] * r0 + w1[i] * r1
        j += 2
    if j < rows:
        w0 = matrix[j]
        r0 = pre[j]
        for i in range(length):
            out[i] += w0[i] * r0


@njit(**_FUSED)
def _forward_dot(matrix, rows, length, pre, out):
    r"""``out[i] = matrix[i] . pre[:length]`` for a matrix stored with postsynaptic rows (the
    padding of ``pre`` is zero).

    Without reassociation (``fastmath``) the compiler cannot vectorise a sum; eight (then four,
    two, one) rows at a time give as many independent chains of additions instead, each summing
    in the natural order.
    """
    i = 0
    while i + 8 <= rows:
        w0 = matrix[i]
        w1 = matrix[i + 1]
        w2 = matrix[i + 2]
        w3 = matrix[i + 3]
        w4 = matrix[i + 4]
        w5 = matrix[i + 5]
        w6 = matrix[i + 6]
        w7 = matrix[i + 7]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        s4 = 0.0
        s5 = 0.0
        s6 = 0.0
        s7 = 0.0
        for j in range(length):
            r = pre[j]
            s0 += w0[j] * r
            s1 += w1[j] * r
            s2 += w2[j] * r
            s3 += w3[j] * r
            s4 += w4[j] * r
            s5 += w5[j] * r
            s6 += w6[j] * r
            s7 += w7[j] * r
        out[i] = s0
        out[i + 1] = s1
        out[i + 2] = s2
        out[i + 3] = s3
        out[i + 4] = s4
        out[i + 5] = s5
        out[i + 6] = s6
        out[i + 7] = s7
        i += 8
    if i + 4 <= rows:
        w0 = matrix[i]
        w1 = matrix[i + 1]
        w2 = matrix[i + 2]
        w3 = matrix[i + 3]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for j in range(length):
            r = pre[j]
            s0 += w0[j] * r
            s1 += w1[j] * r
            s2 += w2[j] * r
            s3 += w3[j] * r
        out[i] = s0
        out[i + 1] = s1
        out[i + 2] = s2
        out[i + 3] = s3
        i += 4
    if i + 2 <= rows:
        w0 = matrix[i]
        w1 = matrix[i + 1]
        s0 = 0.0
        s1 = 0.0
        for j in range(length):
            r = pre[j]
            s0 += w0[j] * r
            s1 += w1[j] * r
        out[i] = s0
        out[i + 1] = s1
        i += 2
    if i < rows:
        w0 = matrix[i]
        s0 = 0.0
        for j in range(length):
            s0 += w0[j] * pre[j]
        out[i] = s0


@njit(**_FUSED)
def _learn(weights, traces, rows, length, a, a_stride, b, b_stride, B, rate_dt, filtered, decay,
           induction):
    r"""Induction, :math:`\tau_w` low-pass and consolidation of one matrix in one pass over it.

    Row ``r`` has the induction term ``I = sum_s a[s * a_stride + r] * b[s * b_stride:][:length]
    / B``: Eq. 6 averaged over the batch, ``post.T @ pre / B`` in the orientation of the stored
    rows. The trace becomes ``I + (T - I) * decay`` (``I`` when unfiltered) and then
    ``W += rate_dt * T``, as :func:`core.plasticity.filter_and_consolidate` does after
    :func:`~core.plasticity.induction_terms`.
    """
    for r in range(rows):
        if B == 1:
            p = a[r]
            if filtered:
                for i in range(length):
                    x = p * b[i]
                    y = x + (traces[r, i] - x) * decay
                    traces[r, i] = y
                    weights[r, i] += rate_dt * y
            else:
                for i in range(length):
                    x = p * b[i]
                    traces[r, i] = x
                    weights[r, i] += rate_dt * x
        else:
            for i in range(length):
                induction[i] = 0.0
            for s in range(B):
                p = a[s * a_stride + r]
                q = b[s * b_stride:s * b_stride + length]
                for i in range(length):
                    induction[i] += p * q[i]
            for i in range(length):
                x = induction[i] / B
                y = x + (traces[r, i] - x) * decay if filtered else x
                traces[r, i] = y
                weights[r, i] += rate_dt * y


@njit(**_FUSED)
def _learn_bias(bias, trace, error, stride, n, B, rate_dt, filtered, decay):
    """As :func:`_learn` for a threshold: a weight from an input fixed at 1."""
    for i in range(n):
        x = 0.0
        for s in range(B):
            x += error[s * stride + i] * 1.0
        x = x / B
        y = x + (trace[i] - x) * decay if filtered else x
        trace[i] = y
        bias[i] += rate_dt * y


# ------------------------------------------------------------------------------------------------
# Simulation on the working buffers (compiled once: no argument's type depends on the depth)
# ------------------------------------------------------------------------------------------------

@njit(cache=True, error_model="numpy", fastmath=False, nogil=True)
def _simulate(n_steps, N, B, size, width, offset, noise_at, m_kind, m_post, m_pre, m_pre_rows,
              m_rows, m_length, m_rate, pool_W, pool_T, bias, bias_T, has_bias, u, rate, second,
              input_pattern, target_pattern, noise, generator, noise_scale, has_noise, nudging,
              learn_from, kind, gamma, beta, theta, dt, g_lk, g_B, g_A, g_D, g_som, att_hidden,
              att_output, att_I, filtered_w, decay_w, filtered_0, decay_0, time, pattern_time):
    """Run ``n_steps`` Euler-Maruyama steps on the working buffers (updated in place).

    ``u`` holds the somatic potentials, ``rate`` the filtered input in population 0 (the rates of
    the somata are computed here) and ``second`` the filtered target in population ``N``;
    ``pool_W[q]``, ``pool_T[q]``, ``bias[p]`` and ``bias_T[p]`` the weights, thresholds and their
    traces. ``m_rate[q]`` is matrix q's learning rate (thresholds share it); plasticity acts from
    step ``learn_from`` of the block on (the end of a learning lag). The noise words come from
    ``noise`` (one row per step) or, when it has no rows, from the PCG64 state ``generator``
    (advanced in place). Returns the clocks.
    """
    n_pop = 2 * N
    total = offset[n_pop]
    n_mat = m_kind.shape[0]

    v = np.zeros(total)         # basal v_B (pyramids) or dendritic v_I (interneurons)
    v_TD = np.zeros(total)      # top-down part of v_A (hidden pyramids)
    error = np.zeros(total)     # postsynaptic factors of Eqs. 7 and 8
    scratch = np.zeros(total)   # postsynaptic factors of Eqs. 9 and 10
    xi = np.zeros(total)        # one step's noise in this layout
    argument = np.zeros(total)  # scratch of the rate functions: their argument
    decay = np.zeros(total)     # ... its e^{-|x|} (then the reduced argument of log1p)
    carry = np.zeros(total)     # ... and log1p's carry
    n_noise = B * (size[1:].sum())
    words = np.zeros(n_noise, np.uint64)  # the generator's words for one step
    normals = np.zeros(n_noise)  # ... as normal numbers, in the order of the draws
    probability = np.zeros(n_noise)
    mask = np.zeros(total, np.bool_)
    attenuation = np.zeros(total)
    ones = np.ones(total)
    g_first = np.zeros(total)   # g_B (pyramids) or g_D (interneurons)
    g_second = np.zeros(total)  # g_A, g_som (output while nudging, interneurons) or 0
    # ``second`` is what g_second pulls towards: v_A (hidden pyramids), the target (output) and
    # u_P[k+1] (interneurons of layer k, the teaching input).
    for p in range(1, n_pop):
        if p < N:
            att, g1, g2 = att_hidden, g_B, g_A
        elif p == N:
            att, g1, g2 = att_output, g_B, g_som if nudging else 0.0
        else:
            att, g1, g2 = att_I, g_D, g_som
        for s in range(B):
            at = offset[p] + s * width[p]
            for i in range(size[p]):
                mask[at + i] = True
                attenuation[at + i] = att
                g_first[at + i] = g1
                g_second[at + i] = g2
    plastic = np.zeros(n_mat, np.bool_)
    need_errors = False
    if learn_from < n_steps:
        for q in range(n_mat):
            plastic[q] = m_rate[q] != 0.0
            need_errors = need_errors or (plastic[q] and (m_kind[q] == UP or m_kind[q] == IP))

    induction = np.zeros(max(m_length.max(), 1))
    return _steps(n_steps, N, B, size, width, offset, noise_at, m_kind, m_post, m_pre, m_pre_rows,
                  m_rows, m_length, m_rate, pool_W, pool_T, bias, bias_T, has_bias, u, rate,
                  second, input_pattern, target_pattern, noise, generator, noise_scale, has_noise,
                  learn_from, kind, gamma, beta, theta, dt, g_lk, filtered_w, decay_w, filtered_0,
                  decay_0, time, pattern_time, v, v_TD, error, scratch, xi, argument, decay, carry,
                  words, normals, probability, mask, attenuation, ones, g_first, g_second, plastic,
                  need_errors, induction)


@njit(**_UNCOUNTED, nogil=True)
def _steps(n_steps, N, B, size, width, offset, noise_at, m_kind, m_post, m_pre, m_pre_rows,
           m_rows, m_length, m_rate, pool_W, pool_T, bias, bias_T, has_bias, u, rate, second,
           input_pattern, target_pattern, noise, generator, noise_scale, has_noise, learn_from,
           kind, gamma, beta, theta, dt, g_lk, filtered_w, decay_w, filtered_0, decay_0, time,
           pattern_time, v, v_TD, error, scratch, xi, argument, decay, carry, words, normals,
           probability, mask, attenuation, ones, g_first, g_second, plastic, need_errors,
           induction):
    """The step loop of :func:`_simulate`, on buffers it allocated (see :data:`_UNCOUNTED`)."""
    n_pop = 2 * N
    first = offset[1]  # where the somata start: population 0 is the input
    n_mat = m_kind.shape[0]

    _rates(u[first:], mask[first:], rate[first:], decay[first:], carry[first:], kind, gamma,
           beta, theta)
    for step in range(n_steps):
        # 1. dendritic potentials (Eqs. 3-5) from the rates and weights at time t
        for q in range(n_mat):
            post, pre, kq = m_post[q], m_pre[q], m_kind[q]
            out = v_TD if kq == DOWN else (second if kq == PI else v)
            for s in range(B):
                at_pre = offset[pre] + s * width[pre]
                at_out = offset[post] + s * width[post]
                pre_s = rate[at_pre:at_pre + width[pre]]
                out_s = out[at_out:at_out + width[post]]
                if m_pre_rows[q]:
                    _forward_axpy(pool_W[q], m_rows[q], m_length[q], pre_s, out_s)
                else:
                    _forward_dot(pool_W[q], m_rows[q], m_length[q], pre_s, out_s)
                if (kq == UP or kq == IP) and has_bias[post]:
                    threshold = bias[post]
                    for i in range(size[post]):
                        out_s[i] = out_s[i] + threshold[i]
        for k in range(1, N):
            v_A = second[offset[k]:offset[k + 1]]
            top_down = v_TD[offset[k]:offset[k + 1]]
            for e in range(v_A.shape[0]):
                v_A[e] = top_down[e] + v_A[e]  # Eq. 4: top-down + lateral

        # 2. plasticity from the compartments at time t (the weights change only after step 1).
        # In reverse: the matrices read last by the forward pass are still in L1 then, and the
        # next step's forward pass starts with those learned last. This zig-zag roughly halves
        # the traffic from L2, which bounds plasticity (weights and traces exceed L1).
        learning = step >= learn_from
        if need_errors and learning:
            _prediction_errors(rate[first:], v[first:], attenuation[first:], mask[first:],
                               error[first:], argument[first:], decay[first:], carry[first:],
                               kind, gamma, beta, theta)
        for q in range(n_mat - 1, -1, -1):
            if not (plastic[q] and learning):
                continue
            post, pre, kq = m_post[q], m_pre[q], m_kind[q]
            lo, hi = offset[post], offset[post + 1]
            if kq == UP or kq == IP:
                factor = error[lo:hi]
            elif kq == DOWN:
                factor = scratch[lo:hi]
                _prediction_errors(rate[lo:hi], v_TD[lo:hi], ones[lo:hi], mask[lo:hi], factor,
                                   argument[lo:hi], decay[lo:hi], carry[lo:hi], kind, gamma,
                                   beta, theta)
            else:
                factor = scratch[lo:hi]
                v_A = second[lo:hi]
                for e in range(factor.shape[0]):
                    factor[e] = 0.0 - v_A[e]  # Eq. 9 with v_rest = 0
            presynaptic = rate[offset[pre]:offset[pre + 1]]
            rate_dt = m_rate[q] * dt
            if m_pre_rows[q]:
                a, a_stride, b, b_stride = presynaptic, width[pre], factor, width[post]
            else:
                a, a_stride, b, b_stride = factor, width[post], presynaptic, width[pre]
            _learn(pool_W[q], pool_T[q], m_rows[q], m_length[q], a, a_stride, b, b_stride, B,
                   rate_dt, filtered_w, decay_w, induction)
            if (kq == UP or kq == IP) and has_bias[post]:
                _learn_bias(bias[post], bias_T[post], factor, width[post], size[post], B, rate_dt,
                            filtered_w, decay_w)

        # 3. somata. The interneurons' teaching input is the next layer's potential at time t.
        for k in range(1, N):
            teacher = u[offset[k + 1]:offset[k + 2]]
            taught = second[offset[N + k]:offset[N + k + 1]]
            for e in range(taught.shape[0]):
                taught[e] = teacher[e]
        if has_noise:
            if noise.shape[0] == 0:
                _pcg64_words(generator, words)
                _normals_from_bits(words, normals, probability)
            else:
                _normals_from_bits(noise[step], normals, probability)
            for p in range(1, n_pop):
                for s in range(B):
                    at = offset[p] + s * width[p]
                    source = noise_at[p] + s * size[p]
                    draws = normals[source:source + size[p]]
                    padded = xi[at:at + size[p]]
                    for i in range(draws.shape[0]):
                        padded[i] = draws[i]
        _somata(u[first:], v[first:], second[first:], g_first[first:], g_second[first:],
                xi[first:], noise_scale, mask[first:], rate[first:], decay[first:],
                carry[first:], dt, g_lk, kind, gamma, beta, theta)

        # 4. inputs and targets approach the pattern through the tau_0 low-pass
        for s in range(B):
            r_0 = rate[offset[0] + s * width[0]:offset[0] + s * width[0] + size[0]]
            target = second[offset[N] + s * width[N]:offset[N] + s * width[N] + size[N]]
            if filtered_0:
                for i in range(size[0]):
                    d = input_pattern[s, i]
                    r_0[i] = d + (r_0[i] - d) * decay_0
                for i in range(size[N]):
                    d = target_pattern[s, i]
                    target[i] = d + (target[i] - d) * decay_0
            else:
                for i in range(size[0]):
                    r_0[i] = input_pattern[s, i]
                for i in range(size[N]):
                    target[i] = target_pattern[s, i]
        time += dt
        pattern_time += dt
    return time, pattern_time


# ------------------------------------------------------------------------------------------------
# Python side: the layout, and copying the network in and out. That costs ~0.2 ms per call, a few
# dozen NumPy operations, which is negligible for blocks of many steps; a numba function taking
# the per-layer arrays would be faster but would be compiled anew for every depth (~11 s each).
# ------------------------------------------------------------------------------------------------

_MATRIX_KINDS = {"W_up": UP, "W_down": DOWN, "W_IP": IP, "W_PI": PI}


@functools.lru_cache(maxsize=64)
def _layout(sizes, B):
    """Working layout of a network with layer sizes ``sizes`` and batch size ``B``.

    Returns
    -------
    SimpleNamespace
        Per population ``p``: ``size``, padded row ``width``, ``offset`` in the flat buffers
        (one entry more: their length ``total``) and ``noise_at``, where its draws start in one
        step's noise. Per matrix ``q`` (W_up of layers 1..N, then W_down, W_IP, W_PI of each
        hidden layer): ``names`` (``(name, layer)``), ``kind``, ``post`` and ``pre`` populations,
        ``pre_rows`` (stored with presynaptic rows), ``rows``, row ``length`` and ``windows``
        (its index into a pool, and whether that view is the transpose). Shared through the
        cache, so every array is read-only.
    """
    N = len(sizes) - 1
    size = np.array([sizes[0], *sizes[1:], *sizes[2:]], dtype=np.int64)
    width = (size + PAD - 1) // PAD * PAD
    offset = np.concatenate([[0], np.cumsum(B * width)]).astype(np.int64)
    noise_at = np.zeros(len(size), dtype=np.int64)
    noise_at[1:] = np.concatenate([[0], np.cumsum(B * size[1:-1])])
    names, post, pre = [], [], []
    for k in range(1, N + 1):
        names.append(("W_up", k)), post.append(k), pre.append(k - 1)
    for k in range(1, N):
        names += [("W_down", k), ("W_IP", k), ("W_PI", k)]
        post += [k, N + k, k]
        pre += [k + 1, k, N + k]
    post, pre = np.array(post, dtype=np.int64), np.array(pre, dtype=np.int64)
    pre_rows = size[post] >= size[pre]
    rows = np.where(pre_rows, size[pre], size[post]).astype(np.int64)
    length = np.where(pre_rows, width[post], width[pre]).astype(np.int64)
    windows = tuple(((q, slice(0, int(size[pre[q]])), slice(0, int(size[post[q]]))), True)
                    if pre_rows[q] else
                    ((q, slice(0, int(size[post[q]])), slice(0, int(size[pre[q]]))), False)
                    for q in range(len(names)))
    segments = tuple((int(offset[p]), int(offset[p + 1]), int(width[p]), int(size[p]))
                     for p in range(len(size)))
    pool_shape = (len(names), int(rows.max()), int(length.max()))
    layout = SimpleNamespace(
        N=N, B=B, size=size, width=width, offset=offset, noise_at=noise_at, total=int(offset[-1]),
        segments=segments, names=tuple(names),
        kind=np.array([_MATRIX_KINDS[name] for name, _ in names], dtype=np.int64),
        post=post, pre=pre, pre_rows=pre_rows, rows=rows, length=length, windows=windows,
        pool_shape=pool_shape, bias_width=int(width.max()))
    for value in vars(layout).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return layout


def _aligned_zeros(n):
    """Zeros starting on a 64-byte boundary: padded rows then start on a vector boundary and no
    vector load straddles two cache lines (NumPy only guarantees 16 bytes)."""
    buffer = np.zeros(n + 8)
    start = (-buffer.ctypes.data // 8) % 8
    return buffer[start:start + n]


def _segment(flat, layout, p):
    """Population ``p``'s ``(B, size)`` block of a flat working buffer, as a view."""
    lo, hi, width, size = layout.segments[p]
    return flat[lo:hi].reshape(layout.B, width)[:, :size]


def advance_compiled(net, ctx, n_steps, noise, learn_from):
    """Advance ``net`` by ``n_steps`` Euler-Maruyama steps in compiled code.

    Same signature and trajectory as :func:`core.dynamics._advance_numpy`.

    Parameters
    ----------
    net : Network
        Updated in place: potentials, filtered inputs and targets, plastic weights and
        thresholds with their traces, and the clocks. Results are written into the existing
        arrays, so references to them see the new values.
    ctx : SimpleNamespace
        From :func:`core.dynamics.context`.
    n_steps : int
    noise : numpy.random.BitGenerator, ndarray of uint64 or None
        Where the raw words come from, one per normal number (:mod:`core.noise`), consumed in the
        order documented in :mod:`core.dynamics`: the generator (advanced by ``n_steps *
        noise_size(net)`` words; a ``PCG64``, NumPy's default, is stepped inside the kernel), or
        the words themselves, shape ``(n_steps, noise_size(net))``.
    learn_from : int
        Plasticity acts from this step of the block on: 0 for every step, ``n_steps`` or more
        for none (a learning lag that ends within the block).
    """
    if n_steps <= 0:
        return
    p, w, s = ctx.p, net.weights, net.state
    B = net.batch_size
    layout = _layout(tuple(net.sizes), B)
    N = layout.N

    # a block without plasticity needs no rates (nor a rate list that fits the depth)
    learns = learn_from < n_steps
    rates = np.array([ctx.rates[name][k] if learns else 0.0 for name, k in layout.names],
                     dtype=np.float64)
    plastic = [learns and rate != 0.0 for rate in rates]
    n_pool = int(np.prod(layout.pool_shape))
    # Traces start 2 KiB (mod 4 KiB) after the weights: loads from one and stores to the other
    # then never share their low 12 address bits, which would stall the loads ("4K aliasing").
    gap = (256 - n_pool) % 512
    both = _aligned_zeros(2 * n_pool + gap)
    pool_W = both[:n_pool].reshape(layout.pool_shape)
    pool_T = both[n_pool + gap:].reshape(layout.pool_shape)
    for (name, k), (window, transposed) in zip(layout.names, layout.windows):
        weights, trace = getattr(w, name)[k], getattr(s.traces, name)[k]
        pool_W[window] = weights.T if transposed else weights
        pool_T[window] = trace.T if transposed else trace

    n_pop = len(layout.segments)
    bias = np.zeros((n_pop, layout.bias_width))
    bias_T = np.zeros_like(bias)
    has_bias = np.zeros(n_pop, dtype=np.bool_)
    thresholds = [(k, "b_up", k, "W_up") for k in w.b_up] + \
                 [(N + k, "b_IP", k, "W_IP") for k in w.b_IP]
    for population, name, k, _ in thresholds:
        n = layout.segments[population][3]
        has_bias[population] = True
        bias[population, :n] = getattr(w, name)[k]
        bias_T[population, :n] = getattr(s.traces, name)[k]

    u = _aligned_zeros(layout.total)
    rate = _aligned_zeros(layout.total)
    second = _aligned_zeros(layout.total)
    _segment(rate, layout, 0)[...] = s.r_input
    _segment(second, layout, N)[...] = s.u_target
    somata = [(k, s.u_P[k]) for k in range(1, N + 1)] + [(N + k, s.u_I[k]) for k in range(1, N)]
    for population, potential in somata:
        _segment(u, layout, population)[...] = potential

    # NumPy's default generator is stepped inside the kernel; any other source gives its words.
    source = noise if isinstance(noise, np.random.PCG64) else None
    generator = _NO_GENERATOR if source is None else _pcg64_state(source)
    has_noise = noise is not None
    if noise is None or source is not None:
        noise = _NO_NOISE
    else:
        # Checked shape: the kernel reads without bounds checks. np.require, here and below:
        # writable C-contiguous arrays keep the one compiled signature.
        noise = np.require(_noise.raw_words(noise, (n_steps, int(B * layout.size[1:].sum()))),
                           np.uint64, ["C", "W"])
    filtered_w, filtered_0 = p.tau_w != 0, p.tau_0 != 0
    time, pattern_time = _simulate(
        int(n_steps), N, B, layout.size, layout.width, layout.offset, layout.noise_at,
        layout.kind, layout.post, layout.pre, layout.pre_rows, layout.rows, layout.length, rates,
        pool_W, pool_T, bias, bias_T, has_bias, u, rate, second,
        np.require(s.input_pattern, np.float64, ["C", "W"]),
        np.require(s.target_pattern, np.float64, ["C", "W"]),
        noise, generator, float(p.sigma * np.sqrt(p.dt)), has_noise, bool(net.nudging),
        int(learn_from),
        LOGISTIC if p.transfer == "logistic" else SOFT_RECTIFIER,
        float(p.gamma), float(p.beta), float(p.theta),
        float(p.dt), float(p.g_lk), float(p.g_B), float(p.g_A), float(p.g_D), float(p.g_som),
        float(basal_attenuation(p.g_lk, p.g_B, apical_conductance(p.g_A, 1, N))),  # hidden
        float(basal_attenuation(p.g_lk, p.g_B, apical_conductance(p.g_A, N, N))),  # output
        float(interneuron_attenuation(p.g_lk, p.g_D)),
        filtered_w, float(np.exp(-p.dt / p.tau_w)) if filtered_w else 0.0,
        filtered_0, float(np.exp(-p.dt / p.tau_0)) if filtered_0 else 0.0,
        float(s.time), float(s.pattern_time))

    # Back into the network's own arrays (``[...] =``), so that the objects stay the same.
    for population, potential in somata:
        potential[...] = _segment(u, layout, population)
    s.r_input[...] = _segment(rate, layout, 0)
    s.u_target[...] = _segment(second, layout, N)
    for q, ((name, k), (window, transposed)) in enumerate(zip(layout.names, layout.windows)):
        if plastic[q]:
            getattr(w, name)[k][...] = pool_W[window].T if transposed else pool_W[window]
            getattr(s.traces, name)[k][...] = pool_T[window].T if transposed else pool_T[window]
    for population, name, k, matrix in thresholds:
        if plastic[layout.names.index((matrix, k))]:
            n = layout.segments[population][3]
            getattr(w, name)[k][...] = bias[population, :n]
            getattr(s.traces, name)[k][...] = bias_T[population, :n]
    s.steps += n_steps
    s.time, s.pattern_time = time, pattern_time
    if source is not None:
        _set_pcg64_state(source, generator)


_NO_NOISE = np.zeros((0, 0), dtype=np.uint64)
_NO_GENERATOR = np.zeros(6, dtype=np.uint64)


def _pcg64_state(bit_generator):
    """A ``PCG64``'s state, increment ``c`` and ``(M + 1) c`` (mod 2**128) as the six 64-bit
    halves :func:`_pcg64_words` takes."""
    state = bit_generator.state["state"]
    increment = state["inc"]
    two_steps = (PCG64_MULTIPLIER + 1) * increment % 2**128
    return np.array([state["state"] >> 64, state["state"] & _LOW_64, increment >> 64,
                     increment & _LOW_64, two_steps >> 64, two_steps & _LOW_64], dtype=np.uint64)


def _set_pcg64_state(bit_generator, halves):
    """Put the state advanced by :func:`_pcg64_words` back into ``bit_generator``."""
    full = bit_generator.state
    hi, lo = (int(h) for h in halves[:2])
    full["state"]["state"] = hi << 64 | lo
    bit_generator.state = full
