"""Small statistics for result files, checks and tables: the Clopper–Pearson interval, sample std,
Welch's t-test, McNemar's exact test, Holm–Bonferroni adjustment, a seeded bootstrap of per-image
outcomes, and Kendall's τ-b with its exact permutation p-value. No scipy at import.
"""

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


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


def paired_drop_upper(first_only: int, second_only: int, count: int, confidence: float = CONFIDENCE) -> float:
    """Upper end of the ``confidence`` interval of a paired drop ``acc(second) − acc(first) = (s − f)/n``.

    ``f``, ``s``: images right in the first only, in the second only, of ``n = count``. Conditional on
    the ``d = f + s`` discordant images, ``s ~ Binomial(d, π)`` and the drop is ``(d/n)(2π − 1)``; its
    upper end is ``(d/n)(2·π_high − 1)`` with ``π_high`` the Clopper–Pearson upper end of ``s/d``
    (0 when ``d = 0``: the two agree on every image).
    """
    discordant = first_only + second_only
    interval = clopper_pearson(second_only, discordant, confidence)
    return 0.0 if interval is None else discordant / count * (2 * interval[1] - 1)


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


BOOTSTRAP_REPLICATES = 2000  # percentile-interval ends move by < 0.5 point between reruns with other seeds [project]
BOOTSTRAP_SEED = 24  # fixed: the same files give the same interval, byte for byte [project]
MIN_SEEDS_TO_RESAMPLE = 3  # with fewer seeds a resample over seeds has too few distinct draws to cover them [project]


def bootstrap_interval(per_seed: Sequence[np.ndarray], *, over_seeds: bool, confidence: float = CONFIDENCE,
                       replicates: int = BOOTSTRAP_REPLICATES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of ``θ = (1/S)·Σ_s mean_i x_{s,i}``, the mean over seeds of per-image means.

    ``per_seed[s]`` holds seed s's per-image outcomes (1/0 correctness, or a paired difference in
    {−1, 0, 1}). Each of B replicates draws, within every seed, its n_s images with replacement
    (``over_seeds`` false: the interval covers the choice of images, for these seeds' networks); with
    ``over_seeds`` it first draws S seeds with replacement, then the images within each drawn seed
    (two-stage: it also covers training variance). The interval is the ``(1 ∓ confidence)/2``
    quantiles of the B replicate values (numpy's linear interpolation), from a generator seeded with
    ``seed``: the same outcomes give the same interval. Each seed's resample is drawn as the multinomial
    counts of its distinct outcomes (the same distribution as drawing images, at a cost independent of
    the number of images). Raises ValueError on an empty seed or none.
    """
    if not per_seed or any(len(values) == 0 for values in per_seed):
        raise ValueError("every seed needs at least one image")
    rng = np.random.default_rng(seed)
    # n draws with replacement from a seed's images have the mean Σ_v v·m_v/n with (m_v) ~ Multinomial(n, share of
    # each distinct value v): drawn so, a replicate costs one multinomial over the few distinct outcomes
    distinct = [np.unique(np.asarray(values, dtype=float), return_counts=True) for values in per_seed]
    total = np.zeros(replicates)
    for slot in range(len(distinct)):  # each replicate's seed in this slot: drawn, or the slot's own seed
        drawn = rng.integers(0, len(distinct), size=replicates) if over_seeds else np.full(replicates, slot)
        for position, (values, counts) in enumerate(distinct):
            chosen = np.flatnonzero(drawn == position)
            if len(chosen):
                images = int(counts.sum())
                total[chosen] += rng.multinomial(images, counts / images, size=len(chosen)) @ values / images
    alpha = 1 - confidence
    low, high = np.quantile(total / len(distinct), [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _sign(value: float) -> int:
    return int(value > 0) - int(value < 0)


def kendall_tau_b(first: Sequence[float], second: Sequence[float]) -> float | None:
    """Kendall's τ-b: ``(C − D) / √((n₀ − n₁)(n₀ − n₂))`` over all pairs; None when either side is constant.

    C, D: concordant and discordant pairs; n₀ = n(n−1)/2; n₁, n₂: pairs tied in ``first``, in ``second``.
    """
    concordant = discordant = tied_first = tied_second = 0
    for i in range(len(first)):
        for j in range(i + 1, len(first)):
            a, b = _sign(first[j] - first[i]), _sign(second[j] - second[i])
            tied_first += a == 0
            tied_second += b == 0
            concordant += a * b > 0
            discordant += a * b < 0
    pairs = len(first) * (len(first) - 1) // 2
    denominator = math.sqrt((pairs - tied_first) * (pairs - tied_second))
    return (concordant - discordant) / denominator if denominator else None


EXACT_PERMUTATION_ROWS = 9  # 9! = 362,880 orderings: enumerated; longer tables are sampled [project]
PERMUTATION_SAMPLES = 100_000
PERMUTATION_CHUNK = 20_000  # orderings scored at once (bounds the memory of the sign matrix)


def kendall_permutation_p(first: Sequence[float], second: Sequence[float],
                          seed: int = BOOTSTRAP_SEED) -> float | None:
    """One-sided permutation p-value of Kendall's τ-b: ``P(τ_b(first, π·second) ≥ τ_b(first, second))``.

    Under H₀ (no association) every ordering π of ``second`` against ``first`` is equally likely.
    With n ≤ ``EXACT_PERMUTATION_ROWS`` all n! orderings are enumerated (exact: with 4 rows and τ = 1,
    p = 1/24); beyond, ``PERMUTATION_SAMPLES`` seeded random orderings give ``(1 + hits)/(1 + B)``.
    Ties keep their counts under π, so τ-b's denominator is fixed and the comparison is on C − D,
    in integers. None when τ-b is undefined (fewer than 2 rows, or a constant side).
    """
    if len(first) < 2 or kendall_tau_b(first, second) is None:
        return None
    n = len(first)
    i, j = np.triu_indices(n, k=1)
    anchor = np.asarray(first, dtype=float)
    first_signs = np.sign(anchor[j] - anchor[i]).astype(np.int64)
    values = np.asarray(second, dtype=float)

    def statistic(orders: np.ndarray) -> np.ndarray:  # C − D for each ordering (one per row of ``orders``)
        permuted = values[orders]
        return np.sign(permuted[:, j] - permuted[:, i]).astype(np.int64) @ first_signs

    observed = statistic(np.arange(n)[None, :])[0]
    exact = n <= EXACT_PERMUTATION_ROWS
    rng = np.random.default_rng(seed)
    orderings = itertools.permutations(range(n)) if exact else None
    total = hits = 0
    while True:
        if orderings is not None:
            chunk = np.array(list(itertools.islice(orderings, PERMUTATION_CHUNK)), dtype=np.intp).reshape(-1, n)
        else:
            size = min(PERMUTATION_CHUNK, PERMUTATION_SAMPLES - total)
            chunk = np.argsort(rng.random((size, n)), axis=1)
        if len(chunk) == 0:
            break
        hits += int(np.count_nonzero(statistic(chunk) >= observed))
        total += len(chunk)
    return hits / total if exact else (1 + hits) / (1 + total)
