"""Small statistics for result files: Wilson score interval, sample standard deviation."""

import math
from collections.abc import Sequence

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
