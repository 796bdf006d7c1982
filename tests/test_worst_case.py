"""The worst case per (norm, ε): its kind (only a sound attack makes it a worst case), n, interval, header."""

from pathlib import Path

import numpy as np
import pytest
from result_fixtures import fake_result

from newlogic.report.samples import load_result
from newlogic.report.worst_case import case_header, worst_case
from newlogic.stats import clopper_pearson


def _result(folder: Path, setting: str, correct: list[int], **options):
    return load_result(fake_result(folder / f"{setting}.json", correct, **options))


def test_the_kind_says_whether_a_sound_attack_ran(tmp_path: Path) -> None:
    fgsm = _result(tmp_path, "fgsm", [1] * 30 + [0] * 10, attack="fgsm", eps=0.3)
    bim5 = _result(tmp_path, "bim5", [1] * 25 + [0] * 15, attack="bim", eps=0.3)  # the paper's 5 steps: known weak
    bim40 = _result(tmp_path, "bim40", [1] * 20 + [0] * 20, attack="bim", eps=0.3, parameters={"nb_iter": 40})
    probs = _result(tmp_path, "pgd_probs", [1] * 20 + [0] * 20, attack="pgd", eps=0.3, attack_on="probs")
    spsa = _result(tmp_path, "spsa", [1] * 22 + [0] * 18, attack="spsa", eps=0.3)
    assert [case.kind for case in worst_case([fgsm])] == ["one_step_only"]
    assert [case.kind for case in worst_case([fgsm, bim5, probs, spsa])] == ["weak_attacks_only"]
    (case,) = worst_case([fgsm, bim5, bim40])
    assert (case.kind, case.accuracy, len(case.index)) == ("worst_case", 0.5, 40)
    assert case.header == "Worst-case L∞ ε=0.3" and case.column == "worst_linf_0.3"
    low, high = case.interval
    assert low < 0.5 < high and high - low == pytest.approx(0.3240, abs=1e-3)  # Clopper–Pearson 20/40
    assert case_header("l2", 2.0, "normalized", "one_step_only") == "One-step only L2 ε=2 (normalized)"


def test_a_per_sample_norm_attack_joins_its_norm_and_n_is_the_intersection(tmp_path: Path) -> None:
    fgm = _result(tmp_path, "fgm", [1] * 40, attack="fgm_l2", eps=2.0, index=list(range(40)))
    # C&W on 20 of those images fools 10 within ε = 2 (norms 1), 10 only beyond it (norms 3)
    cw = _result(tmp_path, "cw", [0] * 20, attack="cw_l2", eps=None, index=list(range(10, 30)),
                 l2=[1.0] * 10 + [3.0] * 10)
    (case,) = worst_case([fgm, cw])
    assert case.settings == ("fgm", "cw") and len(case.index) == 20 and case.accuracy == 0.5
    assert case.to_dict()["survived"] == 10 and case.to_dict()["kind"] == "worst_case"  # C&W is a sound attack


def test_a_result_file_carries_the_clopper_pearson_interval_the_tables_use() -> None:
    from newlogic.evaluation.statistics import summarize
    from newlogic.report.worst_case import pooled

    count = 40
    samples = {"label": np.zeros(count), "clean_correct": np.ones(count, dtype=bool),
               "adv_correct": np.arange(count) < 12, "l2": np.ones(count), "linf": np.ones(count),
               "clean_confidence": np.ones(count), "adv_confidence": np.ones(count),
               "clean_rejected": np.zeros(count, dtype=bool), "adv_rejected": np.zeros(count, dtype=bool)}
    records = [{"clean_pred": np.zeros(count), "adv_pred": np.zeros(count), "label": np.zeros(count), "seconds": 1.0}]
    fields = summarize(samples, records, "softmax", count, count)
    assert fields["adv_accuracy_ci95"] == list(clopper_pearson(12, count)) == pooled([(12, count)])["interval"]
    assert fields["adv_accuracy_ci95"] == pytest.approx([0.1656, 0.4653], abs=1e-4)  # Wilson: [0.18, 0.45]
