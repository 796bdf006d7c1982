"""The summary fields of one attack setting's result from its per-sample arrays and batches (docs/results.md).

Accuracy is ``argmax(scores) == label`` on clean and adversarial inputs; the attack success rate
counts, among the clean-correct samples, those the attack makes wrong; the adversarial accuracy
has the 95 % Clopper–Pearson interval (``newlogic.stats.clopper_pearson``, the one every table and
summary uses); norms and confidences are taken over the successful or misclassified
samples as each field says; rejection rates exist only for outputs that can reject.
"""

from typing import Any

import numpy as np

from newlogic.nn.outputs import OUTPUTS
from newlogic.stats import clopper_pearson, sample_std


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def summarize(samples: dict[str, np.ndarray], records: list[dict[str, Any]], output: str, requested: int,
             used: int) -> dict[str, Any]:
    """The summary fields of a result (docs/results.md)."""
    count = len(samples["label"])
    clean, adv = samples["clean_correct"], samples["adv_correct"]
    success = clean & ~adv
    adv_wrong = ~adv
    batch_clean = [float((r["clean_pred"] == r["label"]).mean()) for r in records]
    batch_adv = [float((r["adv_pred"] == r["label"]).mean()) for r in records]
    seconds = [r["seconds"] for r in records]
    total_seconds = float(sum(seconds))
    interval = clopper_pearson(int(adv.sum()), count)
    can_reject = OUTPUTS[output].can_reject
    return {
        "sample_count": count,
        "clean_accuracy": float(clean.mean()),
        "adv_accuracy": float(adv.mean()),
        "adv_accuracy_ci95": list(interval) if interval else None,
        "attack_success_rate": float(success.sum() / clean.sum()) if clean.any() else None,
        "batch_clean_accuracies": batch_clean,
        "batch_adv_accuracies": batch_adv,
        "batch_clean_accuracy_std": sample_std(batch_clean),
        "batch_adv_accuracy_std": sample_std(batch_adv),
        "l2_mean": _mean(samples["l2"][success]),
        "l2_median": _median(samples["l2"][success]),
        "linf_mean": _mean(samples["linf"][success]),
        "linf_median": _median(samples["linf"][success]),
        "clean_confidence_mean": float(samples["clean_confidence"].mean()),
        "adv_confidence_mean": float(samples["adv_confidence"].mean()),
        "adv_confidence_mean_misclassified": _mean(samples["adv_confidence"][adv_wrong]),
        "clean_rejection_rate": float(samples["clean_rejected"].mean()) if can_reject else None,
        "adv_rejection_rate": float(samples["adv_rejected"].mean()) if can_reject else None,
        "zero_gradient_fraction": float(samples["zero_gradient"].mean()) if "zero_gradient" in samples else None,
        "seconds_total": total_seconds,
        "seconds_per_batch": total_seconds / len(records),
        "images_per_second": count / total_seconds if total_seconds > 0 else None,
        "batch_size": requested,
        "batch_size_used": used,
    }
