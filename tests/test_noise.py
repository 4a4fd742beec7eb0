"""core.noise: one standard normal number per raw 64-bit word of the generator.

Checked against the exact inverse normal CDF (``statistics.NormalDist``), against hand-made
words, for its distribution over a million draws, and for the compiled kernel's copy of the
transform giving the same numbers.
"""

import math
import statistics

import numpy as np
import pytest

from core import noise

NORMAL = statistics.NormalDist()


def test_the_approximation_follows_the_exact_inverse_cdf_to_1e_9():
    p = np.concatenate([np.logspace(-16.5, math.log10(0.4999), 3000),
                        np.linspace(0.001, 0.5, 3000)])
    exact = np.array([NORMAL.inv_cdf(float(x)) for x in p])
    approx = noise.inverse_normal_lower(p.copy())
    np.testing.assert_allclose(approx, exact, rtol=1.2e-9, atol=0)
    assert np.all(approx <= 0)


def test_hand_made_words():
    """bits 12-63 give p, bit 0 the sign; bits 1-11 are not used."""
    top = np.uint64(2**52 - 1) << np.uint64(12)  # largest p: 0.5 - 2**-54
    zero_p = np.uint64(0)                          # smallest p: 2**-54
    p_quarter = np.uint64(2**50) << np.uint64(12)  # (2**50 + 0.5) / 2**53, just above 1/8
    words = np.array([top, top | np.uint64(1), zero_p, zero_p | np.uint64(1), p_quarter,
                      p_quarter | np.uint64(0b111111111110)], dtype=np.uint64)
    x = noise.standard_normals(words)
    assert abs(x[0]) < 1e-15 and abs(x[1]) < 1e-15
    assert x[2] == pytest.approx(NORMAL.inv_cdf(2.0**-54), rel=1e-9)
    assert x[2] < -8.2 and x[3] == -x[2]
    assert x[4] == pytest.approx(NORMAL.inv_cdf((2**50 + 0.5) / 2**53), rel=1e-9)
    assert x[5] == x[4]


def test_a_million_draws_are_standard_normal():
    x = noise.draw(np.random.default_rng(7), 10**6)
    assert abs(x.mean()) < 5 * 1e-3              # standard error 1e-3
    assert abs(x.var() - 1) < 5 * math.sqrt(2e-6)
    assert abs(np.mean(x**3)) < 5 * math.sqrt(15e-6)
    assert abs(np.mean(x**4) - 3) < 5 * math.sqrt(96e-6)
    # Kolmogorov-Smirnov distance to the normal CDF (5 % critical value 1.36 / sqrt(n))
    ordered = np.sort(x)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(ordered / math.sqrt(2)))
    n = len(x)
    distance = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert distance < 1.36 / math.sqrt(n) * 1.5
    for threshold in (2.0, 3.0):  # the tails, beyond the central formula's range
        expected = 2 * NORMAL.cdf(-threshold)
        assert np.mean(np.abs(x) > threshold) == pytest.approx(expected, rel=0.05)
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 5e-3


def test_draw_takes_one_word_per_number_from_the_generator():
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    first = noise.draw(a, (4, 5))
    assert first.shape == (4, 5)
    np.testing.assert_array_equal(first, noise.standard_normals(b.bit_generator.random_raw(20))
                                  .reshape(4, 5))
    np.testing.assert_array_equal(noise.draw(a, 3), noise.draw(b, 3))  # same position after


def test_the_kernel_transform_gives_the_same_numbers():
    pytest.importorskip("numba")
    from core._kernel import _normals_from_bits

    words = np.random.default_rng(11).bit_generator.random_raw(20000)
    compiled = np.empty(len(words))
    _normals_from_bits(words, compiled, np.empty(len(words)))
    expected = noise.standard_normals(words)
    central = np.abs(expected) < 1.97  # the tail starts at |x| = 1.9728
    np.testing.assert_array_equal(compiled[central], expected[central])  # same operations
    np.testing.assert_allclose(compiled, expected, rtol=1e-15, atol=0)  # tails: the log's ulp


def test_raw_words_takes_an_array_of_the_right_shape_or_draws_from_a_generator():
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    drawn = noise.raw_words(a.bit_generator, (3, 2))
    np.testing.assert_array_equal(drawn, b.bit_generator.random_raw((3, 2)))
    assert noise.raw_words(drawn, (3, 2)) is drawn
    with pytest.raises(ValueError, match=r"noise has shape \(3, 2\); expected \(2, 3\)"):
        noise.raw_words(drawn, (2, 3))


@pytest.mark.parametrize("seed", [0, 7, 2**63 + 5])
def test_the_kernel_steps_numpys_pcg64_exactly(seed):
    """The kernel draws its words with its own PCG64: the same words as ``random_raw``, and the
    generator's state afterwards is the one NumPy reaches."""
    pytest.importorskip("numba")
    from core._kernel import _pcg64_state, _pcg64_words, _set_pcg64_state

    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    ours.uniform(size=3)  # a state that does not come straight from seeding
    numpys.uniform(size=3)
    halves = _pcg64_state(ours.bit_generator)
    for n in (1, 70, 1000):
        words = np.zeros(n, dtype=np.uint64)
        _pcg64_words(halves, words)
        np.testing.assert_array_equal(words, numpys.bit_generator.random_raw(n))
    _set_pcg64_state(ours.bit_generator, halves)
    assert ours.bit_generator.state == numpys.bit_generator.state
    assert ours.uniform() == numpys.uniform()
