"""Small statistics for result files, checks and tables: Wilson and Clopper–Pearson intervals, sample std,
Welch's t-test, McNemar's exact test and Holm–Bonferroni adjustment. No scipy at import.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

Z_95 = 1.959963984540054  # the 97.5 % quantile of the standard normal


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (Wilson 1927); None when ``trials`` is 0.

    With p = k/n: centre ``(p + z²/2n) / (1 + z²/n)``, half-width
    ``z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)``.
    """
    if trials == 0:
        return None
    p = successes / trials
    scale = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / scale
    half = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / scale
    low = 0.0 if successes == 0 else centre - half  # exact at the ends, where rounding would leave ±1e-17
    high = 1.0 if successes == trials else centre + half
    return low, high


def sample_std(values: Sequence[float]) -> float | None:
    """Standard deviation with Bessel's correction, ``√(Σ(v − v̄)² / (n − 1))``; None for fewer than 2 values."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _constant(values: Sequence[float]) -> bool:
    """All equal to 12 significant digits (means of equal counts can differ in the last bit)."""
    return len({float(f"{value:.12g}") for value in values}) == 1


def _squared_standard_error(values: Sequence[float]) -> float:
    """``s²/n`` of a sample (``s`` = ``sample_std``); 0 for a constant one or one of fewer than 2 values."""
    std = sample_std(values)
    return 0.0 if std is None or _constant(values) else std**2 / len(values)


def welch_p(first: Sequence[float], second: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test (unequal variances); None unless both have ≥ 2 values and one varies.

    ``t = (x̄₁ − x̄₂) / √(a + b)`` with ``a = s₁²/n₁``, ``b = s₂²/n₂`` and the Welch–Satterthwaite
    degrees of freedom ``(a + b)² / (a²/(n₁ − 1) + b²/(n₂ − 1))``; ``p = 2·P(T_df > |t|)``. Two constant
    samples (equal to 12 digits: a float variance of equal means is not exactly 0) have no test.
    ``P(T_df > |t|)`` is Student's t CDF at ``−|t|`` (``scipy.special.stdtr``: scipy.stats would add
    0.6 s to every table job's start).
    """
    from scipy.special import stdtr  # here: result files are written without scipy

    if len(first) < 2 or len(second) < 2 or (_constant(first) and _constant(second)):
        return None
    a, b = (_squared_standard_error(v) for v in (first, second))
    t = (sum(first) / len(first) - sum(second) / len(second)) / math.sqrt(a + b)
    df = (a + b) ** 2 / (a**2 / (len(first) - 1) + b**2 / (len(second) - 1))
    return float(2 * stdtr(df, -abs(t)))


def mcnemar_exact_p(first: Sequence[bool], second: Sequence[bool]) -> float:
    """McNemar's exact test of paired correctness (same images, in the same order): the two-sided binomial p-value.

    With ``b`` = images right in ``first`` only and ``c`` = right in ``second`` only, under H₀
    ``b ~ Binomial(b + c, 1/2)``; ``p = min(1, 2·P(X ≤ min(b, c)))``, and 1 when ``b + c = 0``, with
    ``P(X ≤ m) = Σ_{k ≤ m} C(n, k) / 2ⁿ`` summed exactly in integers.
    """
    b = sum(1 for x, y in zip(first, second, strict=True) if x and not y)
    c = sum(1 for x, y in zip(first, second, strict=True) if y and not x)
    if b + c == 0:
        return 1.0
    tail = Fraction(sum(math.comb(b + c, k) for k in range(min(b, c) + 1)), 2 ** (b + c))
    return float(min(Fraction(1), 2 * tail))


CONFIDENCE = 0.95  # every interval of the report [project]


def clopper_pearson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Exact (Clopper–Pearson 1934) interval of a binomial proportion; None when ``trials`` is 0.

    With ``α = 1 − confidence``: ``low = B⁻¹(α/2; k, n − k + 1)`` (0 when k = 0) and
    ``high = B⁻¹(1 − α/2; k + 1, n − k)`` (1 when k = n), where ``B⁻¹(q; a, b)`` is the inverse of the
    regularised incomplete beta function (the Beta(a, b) quantile; ``scipy.special.betaincinv``:
    scipy.stats would add 0.6 s to every report job's start).
    """
    from scipy.special import betaincinv  # here: result files are written without scipy

    if trials == 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes {successes} outside [0, {trials}]")
    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(betaincinv(successes, trials - successes + 1, alpha / 2))
    high = 1.0 if successes == trials else float(betaincinv(successes + 1, trials - successes, 1 - alpha / 2))
    return low, high


def accuracy_interval(accuracy: float, count: int, confidence: float = CONFIDENCE) -> list[float] | None:
    """``clopper_pearson`` of an accuracy on ``count`` samples (``round(accuracy · count)`` right), as a list."""
    interval = clopper_pearson(round(accuracy * count), count, confidence)
    return None if interval is None else list(interval)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (Holm 1979), in the order given.

    Sorted ascending ``p₍₁₎ ≤ … ≤ p₍ₘ₎``: ``p̃₍ᵢ₎ = min(1, max_{j ≤ i} (m − j + 1)·p₍ⱼ₎)``; rejecting
    ``p̃ < α`` controls the family-wise error rate at α over the m comparisons.
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class PairedComparison:
    """Two paired per-sample correctness vectors compared: accuracies, shared count, exact McNemar p-value."""

    first: float
    second: float
    count: int
    p_value: float

    @property
    def gap(self) -> float:
        """``first − second`` (fraction of the shared samples)."""
        return self.first - self.second


def compare_paired(first: Sequence[bool], second: Sequence[bool]) -> PairedComparison:
    """Means of two paired correctness vectors and McNemar's exact p-value (``mcnemar_exact_p``)."""
    count = len(first)
    return PairedComparison(sum(map(bool, first)) / count if count else math.nan,
                            sum(map(bool, second)) / count if count else math.nan, count,
                            mcnemar_exact_p(first, second))
