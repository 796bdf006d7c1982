"""The report's statistics: Clopper–Pearson intervals, Holm–Bonferroni, McNemar's exact test, Welch's test."""

import math

import pytest

from newlogic.stats import (
    accuracy_interval,
    clopper_pearson,
    compare_paired,
    holm,
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
