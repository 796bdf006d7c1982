"""The report's statistics: Clopper–Pearson intervals, Holm–Bonferroni, McNemar's exact test, Welch's test, the
seeded bootstrap of per-image outcomes and Kendall's τ-b with its permutation p-value."""

import itertools
import math

import numpy as np
import pytest

from newlogic.stats import (
    accuracy_interval,
    bootstrap_interval,
    clopper_pearson,
    compare_paired,
    holm,
    kendall_permutation_p,
    kendall_tau_b,
    mcnemar_exact_p,
    welch_p,
)


@pytest.mark.parametrize(("successes", "trials"), [(0, 10), (5, 10), (10, 10), (92, 150), (1, 1000)])
def test_clopper_pearson_is_the_beta_quantile_interval(successes: int, trials: int) -> None:
    from scipy.stats import beta

    low, high = clopper_pearson(successes, trials)
    expected_low = 0.0 if successes == 0 else beta.ppf(0.025, successes, trials - successes + 1)
    expected_high = 1.0 if successes == trials else beta.ppf(0.975, successes + 1, trials - successes)
    assert (low, high) == pytest.approx((expected_low, expected_high), abs=1e-12)
    assert low <= successes / trials <= high


def test_clopper_pearson_known_values_and_edges() -> None:
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 0.30850), abs=1e-5)  # the "rule of three" neighbourhood
    assert clopper_pearson(5, 10) == pytest.approx((0.18709, 0.81291), abs=1e-5)
    assert clopper_pearson(0, 0) is None and accuracy_interval(0.5, 0) is None
    assert accuracy_interval(0.3, 100) == pytest.approx([0.21241, 0.39981], abs=1e-5)
    with pytest.raises(ValueError):
        clopper_pearson(11, 10)


def test_a_smaller_sample_gives_a_wider_interval() -> None:
    widths = [high - low for low, high in (clopper_pearson(n // 2, n) for n in (10, 30, 150, 1000))]
    assert widths == sorted(widths, reverse=True) and widths[0] > 0.5 > 0.1 > widths[-1]


def test_holm_adjusts_step_down_and_keeps_the_order() -> None:
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → monotone: 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]) and holm([]) == []
    assert holm([0.04]) == [0.04]  # one comparison: unchanged


def test_holm_never_rejects_more_than_the_unadjusted_test() -> None:
    p_values = [0.001, 0.012, 0.02, 0.03, 0.049, 0.2]
    adjusted = holm(p_values)
    assert all(a >= p for a, p in zip(adjusted, p_values, strict=True))
    assert sum(a < 0.05 for a in adjusted) == 1 < sum(p < 0.05 for p in p_values)


def test_mcnemar_and_the_paired_comparison() -> None:
    first = [True] * 6 + [False] * 24  # right only in first on 6 images, no discordance elsewhere
    second = [False] * 30
    assert mcnemar_exact_p(first, second) == pytest.approx(2 / 64)
    comparison = compare_paired(first, second)
    assert (comparison.first, comparison.second, comparison.count) == (0.2, 0.0, 30)
    assert comparison.gap == pytest.approx(0.2) and comparison.p_value == pytest.approx(2 / 64)
    assert math.isnan(compare_paired([], []).first)


def test_welch_needs_two_values_and_some_variance() -> None:
    assert welch_p([0.5], [0.6, 0.7]) is None and welch_p([0.5, 0.5], [0.6, 0.6]) is None
    assert 0 < welch_p([0.50, 0.52, 0.51], [0.70, 0.71, 0.69]) < 0.001


def test_kendall_tau_b_agrees_with_scipy_on_ties() -> None:
    from scipy.stats import kendalltau

    first, second = [0.99, 0.99, 0.99, 0.99, 0.93, 0.99, 0.98, 0.96], [0.9, 0.95, 0.95, 0.97, 0.9, 0.96, 0.93, 0.9]
    assert kendall_tau_b(first, second) == pytest.approx(kendalltau(first, second).statistic)
    assert kendall_tau_b([1, 1, 1], [1, 2, 3]) is None and kendall_permutation_p([1, 1, 1], [1, 2, 3]) is None


@pytest.mark.parametrize("rows", [3, 4, 5, 6, 7, 8])
def test_kendall_permutation_p_is_scipys_exact_one_sided_p_without_ties(rows: int) -> None:
    from scipy.stats import kendalltau

    rng = np.random.default_rng(rows)
    for _ in range(5):
        first, second = list(rng.permutation(rows) * 1.0), list(rng.permutation(rows) * 1.0)
        expected = kendalltau(first, second, method="exact", alternative="greater").pvalue
        assert kendall_permutation_p(first, second) == pytest.approx(expected, abs=1e-12)


def test_kendall_permutation_p_by_hand() -> None:
    """Four rows, τ = 1: one ordering of 24. Three rows: τ-b takes 1, 1/3, −1/3, −1 on 1, 2, 2, 1 orderings.
    Ties (two equal published values; the regenerated side distinct): τ-b = 1 for 2 of the 24 orderings."""
    assert kendall_permutation_p([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1 / 24)
    assert kendall_permutation_p([1, 2, 3], [1, 3, 2]) == pytest.approx(3 / 6)  # τ = 1/3: orderings with τ ≥ 1/3
    assert kendall_permutation_p([1, 2, 3], [3, 2, 1]) == pytest.approx(1.0)
    assert kendall_permutation_p([0.99, 0.99, 0.5, 0.4], [0.9, 0.95, 0.3, 0.2]) == pytest.approx(2 / 24)
    orderings = list(itertools.permutations([0.9, 0.95, 0.3, 0.2]))
    taus = [kendall_tau_b([0.99, 0.99, 0.5, 0.4], list(order)) for order in orderings]
    observed = kendall_tau_b([0.99, 0.99, 0.5, 0.4], [0.9, 0.95, 0.3, 0.2])
    assert sum(tau >= observed - 1e-12 for tau in taus) == 2


def test_kendall_permutation_p_samples_long_tables_reproducibly() -> None:
    first = list(range(12))
    second = [0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10]
    p_value = kendall_permutation_p(first, second)
    assert p_value == kendall_permutation_p(first, second) and 0 < p_value < 1e-3


def test_bootstrap_interval_within_seeds_and_over_seeds() -> None:
    right = np.array([1.0] * 30 + [0.0] * 20)
    low, high = bootstrap_interval([right, right], over_seeds=False)
    assert low < 0.6 < high and 0.05 < high - low < 0.25  # 100 images: about ±1.96·√(0.24/100)
    assert bootstrap_interval([right, right], over_seeds=False) == (low, high)  # seeded: deterministic
    constant = np.ones(50)
    assert bootstrap_interval([constant], over_seeds=False) == (1.0, 1.0)
    # over seeds: seeds that differ widen the interval beyond the images' own spread
    seeds = [np.array([1.0] * k + [0.0] * (100 - k)) for k in (20, 50, 80)]
    wide = bootstrap_interval(seeds, over_seeds=True)
    narrow = bootstrap_interval(seeds, over_seeds=False)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1] and wide[1] - wide[0] > 0.3
    # coverage of a paired difference: true change +0.1, 200 images, 2 seeds; the 95 % interval covers it
    rng = np.random.default_rng(1)
    covered = 0
    for trial in range(200):
        differences = [rng.choice([-1.0, 0.0, 1.0], size=200, p=[0.1, 0.7, 0.2]) for _ in range(2)]
        low, high = bootstrap_interval(differences, over_seeds=False, replicates=500, seed=trial)
        covered += low <= 0.1 <= high
    assert 0.9 <= covered / 200 <= 0.99
    with pytest.raises(ValueError):
        bootstrap_interval([np.array([])], over_seeds=False)
